"""Plain-words reasons for refused roster files, rows and warnings, in English and Chinese.

Keyed by the stable reason code that also goes into error records. The texts never
contain personal data: only column titles, row numbers and fixed wording.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "zh"]

# code -> (English, Chinese). Placeholders: {column}, {first_row}, {missing}, {found}, {detail}.
REASONS: dict[str, tuple[str, str]] = {
    # --- the file as a whole ---
    "file_not_found": ("The file does not exist or cannot be opened.", "文件不存在或无法打开。"),
    "empty_file": (
        "The file is empty: there is nothing to import.",
        "文件是空的，没有可导入的内容。",
    ),
    "no_data_rows": (
        "The file has a title row but no retirees under it: there is nothing to import.",
        "文件只有标题行，没有人员数据，没有可导入的内容。",
    ),
    "bad_header": (
        "The first row must hold the column titles. Missing: {missing}. Found: {found}.",
        "第一行必须是列标题。缺少：{missing}。实际找到：{found}。",
    ),
    "duplicate_column": (
        "Two columns mean the same thing ({detail}); keep only one of them.",
        "有两列含义相同（{detail}），请只保留一列。",
    ),
    "unknown_encoding": (
        "The text of the file is neither UTF-8 nor GBK/GB18030; save it again as CSV (UTF-8) or .xlsx.",
        "文件编码既不是 UTF-8 也不是 GBK/GB18030，请重新另存为 CSV（UTF-8）或 .xlsx。",
    ),
    "old_xls_format": (
        "This is an old Excel 97-2003 (.xls) file; open it in Excel and save it as .xlsx or CSV.",
        "这是旧版 Excel 97-2003（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV。",
    ),
    "unreadable_file": (
        "The file cannot be read as a spreadsheet ({detail}); save it again as .xlsx or CSV.",
        "无法按表格读取该文件（{detail}），请重新另存为 .xlsx 或 CSV。",
    ),
    # --- one row ---
    "missing_value": ("“{column}” is empty but required.", "“{column}”为必填项，但为空。"),
    "wrong_length": (
        "The ID number does not have 18 characters.",
        "身份证号码不是 18 位。",
    ),
    "bad_characters": (
        "The ID number must be 17 digits followed by a digit or X.",
        "身份证号码应为 17 位数字加 1 位数字或 X。",
    ),
    "bad_check_digit": (
        "The ID number's last character does not match the others: probably a typing error.",
        "身份证号码校验位不正确，可能录入有误。",
    ),
    "bad_birth_date": (
        "The birth date inside the ID number is not a real date (or is before 1900 or in the future).",
        "身份证号码中的出生日期无效（或早于 1900 年、或晚于今天）。",
    ),
    "bad_region": (
        "The ID number does not start with a real province code.",
        "身份证号码前两位不是有效的省级行政区划代码。",
    ),
    "id_number_not_text": (
        "Excel stored the ID number as a number and lost its last digits: "
        "format the column as Text and enter the numbers again.",
        "Excel 将身份证号码存为数值，后几位已丢失：请将该列设为“文本”格式后重新录入。",
    ),
    "duplicate_id_number": (
        "The same ID number is already on row {first_row} of this file; this row is skipped.",
        "该身份证号码已在本文件第 {first_row} 行出现，本行未导入。",
    ),
    "bad_name": (
        "The name is too long or contains control characters.",
        "姓名过长或含有非法字符。",
    ),
    "bad_region_code": (
        "“{column}” must be a 6-digit administrative division code (e.g. 110105).",
        "“{column}”应为 6 位行政区划代码（如 110105）。",
    ),
    "bad_date": (
        "“{column}” is not a date; write it as YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD.",
        "“{column}”不是有效日期，请写成 YYYY-MM-DD、YYYY/MM/DD 或 YYYYMMDD。",
    ),
    "pension_start_in_future": (
        "“{column}” is in the future.",
        "“{column}”晚于今天。",
    ),
    "pension_start_too_early": (
        "“{column}” is before the person's 40th birthday (from the ID number): probably a typing error.",
        "“{column}”早于本人 40 周岁（按身份证号码计算），可能录入有误。",
    ),
    "last_certified_in_future": (
        "“{column}” is in the future.",
        "“{column}”晚于今天。",
    ),
    "last_certified_before_pension_start": (
        "“{column}” is before the pension start date.",
        "“{column}”早于开始领取养老金的日期。",
    ),
    "bad_phone": (
        "The phone number is not a Chinese mobile number (11 digits starting 13-19).",
        "手机号码无效（应为 1 开头、第二位 3-9 的 11 位数字）。",
    ),
    # --- warnings: the row is imported all the same ---
    "photo_missing": (
        "The reference photo file was not found; the row is imported, enrol a reference face later.",
        "未找到参考照片文件；本行已导入，请稍后采集参考人脸。",
    ),
    "photo_outside_folder": (
        "The reference photo path leaves the roster's folder and is ignored; "
        "the row is imported, enrol a reference face later.",
        "参考照片路径超出名册所在文件夹，已忽略；本行已导入，请稍后采集参考人脸。",
    ),
    "ignored_column": (
        "Column “{column}” is not used by the import and was ignored.",
        "列“{column}”不在导入范围内，已忽略。",
    ),
}


def reason_text(code: str, language: Language = "en", **params: object) -> str:
    """The plain-words text for a reason code; an unknown code is shown as itself."""
    texts = REASONS.get(code)
    if texts is None:
        return code
    template = texts[0] if language == "en" else texts[1]
    try:
        return template.format(**params)
    except (KeyError, IndexError):  # a missing parameter must not hide the reason itself
        return template
