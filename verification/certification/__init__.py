"""Certifying: the challenge (challenges), each attempt and its idempotency (attempts), the
decision and what it writes (service), doubtful cases for staff (review), the risk score and
audit of passes (pass_risk, pass_audit), replays (replay_guard), the reference faces a
retiree is compared with (reference_sets) and their enrolment (enrolment)."""
