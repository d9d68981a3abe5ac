"""A tiny ONNX model written byte by byte (the `onnx` package is not a dependency).

The model takes a batch of face chips `input.1` [N, 3, 112, 112] (float) and returns, per
chip, the mean of each channel ([N, 3]): GlobalAveragePool then Flatten. Deterministic and
easy to predict, so a test can check what the engine fed the model. Only the protobuf fields
onnxruntime reads are written (onnx.proto3 field numbers in the comments).
"""

from __future__ import annotations


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:  # wire type 2: length-delimited
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _field_int(number: int, value: int) -> bytes:  # wire type 0: varint
    return _varint(number << 3) + _varint(value)


def _str(number: int, text: str) -> bytes:
    return _field_bytes(number, text.encode())


def _tensor_type(dims: list[int | str]) -> bytes:
    shape = b"".join(
        _field_bytes(1, _field_int(1, d) if isinstance(d, int) else _str(2, d))  # Dimension
        for d in dims
    )
    tensor = _field_int(1, 1) + _field_bytes(2, shape)  # elem_type FLOAT = 1, shape
    return _field_bytes(1, tensor)  # TypeProto.tensor_type


def _value_info(name: str, dims: list[int | str]) -> bytes:
    return _str(1, name) + _field_bytes(2, _tensor_type(dims))


def _node(op: str, inputs: list[str], outputs: list[str], name: str) -> bytes:
    body = b"".join(_str(1, i) for i in inputs) + b"".join(_str(2, o) for o in outputs)
    return body + _str(3, name) + _str(4, op)


def channel_mean_model(input_name: str = "input.1", size: int = 112) -> bytes:
    graph = (
        _field_bytes(1, _node("GlobalAveragePool", [input_name], ["pooled"], "pool"))
        + _field_bytes(1, _node("Flatten", ["pooled"], ["embedding"], "flatten"))
        + _str(2, "channel_mean")
        + _field_bytes(11, _value_info(input_name, ["N", 3, size, size]))
        + _field_bytes(12, _value_info("embedding", ["N", 3]))
    )
    opset = _str(1, "") + _field_int(2, 13)
    return (
        _field_int(1, 8)  # ir_version
        + _str(2, "pension-bot-tests")  # producer_name
        + _field_bytes(7, graph)
        + _field_bytes(8, opset)
    )
