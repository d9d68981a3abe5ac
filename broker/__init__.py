"""Scaling out on RabbitMQ: webhook updates published durably by stateless ingress processes
(broker/ingress.py) and handled by bot workers (broker/worker.py), in order per chat.

The single-machine default (polling or one webhook process, SQLite, no broker) does not use
this package."""
