"""Windows drive layer, pure parts: layouts, IOCTL numbers, error sorting, drive letters."""

from __future__ import annotations

import ctypes

import pytest

from app.platform import windows as w


def test_ioctl_codes_match_the_documented_values() -> None:
    assert w.IOCTL_STORAGE_CHECK_VERIFY2 == 0x2D0800
    assert w.IOCTL_STORAGE_EJECT_MEDIA == 0x2D4808
    assert w.IOCTL_STORAGE_EJECTION_CONTROL == 0x2D0940
    assert w.IOCTL_CDROM_GET_CONFIGURATION == 0x24058
    assert w.IOCTL_DISK_GET_LENGTH_INFO == 0x7405C
    assert w.FSCTL_ALLOW_EXTENDED_DASD_IO == 0x90083
    assert w.IOCTL_SCSI_PASS_THROUGH_DIRECT == 0x4D014


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="x64 layout")
def test_pass_through_struct_has_the_x64_layout() -> None:
    s = w.SCSI_PASS_THROUGH_DIRECT
    assert ctypes.sizeof(s) == 56
    offsets = {f[0]: getattr(s, f[0]).offset for f in s._fields_}
    assert offsets == {
        "Length": 0,
        "ScsiStatus": 2,
        "PathId": 3,
        "TargetId": 4,
        "Lun": 5,
        "CdbLength": 6,
        "SenseInfoLength": 7,
        "DataIn": 8,
        "DataTransferLength": 12,
        "TimeOutValue": 16,
        "DataBuffer": 24,
        "SenseInfoOffset": 32,
        "Cdb": 36,
    }
    assert ctypes.sizeof(w.GET_LENGTH_INFORMATION) == 8
    assert ctypes.sizeof(w.PREVENT_MEDIA_REMOVAL) == 1


def test_errors_are_sorted_the_way_the_engine_needs() -> None:
    assert [w.classify(c) for c in (23, 1117, 121, 27)] == ["bad"] * 4
    assert [w.classify(c) for c in (21, 1110)] == ["gone", "gone"]
    assert w.classify(5) == "denied" and w.classify(87) == "error"
    assert "administrator" in w.permission_hint("D:")


@pytest.mark.parametrize("spec", ["d", "D:", "D:\\", "\\\\.\\D:", "//./d:"])
def test_drive_letters(spec: str) -> None:
    assert w.parse_drive(spec) == "\\\\.\\D:"


@pytest.mark.parametrize("spec", ["", "DD:", "1:", "C:\\Windows", "/dev/sr0"])
def test_not_drive_letters(spec: str) -> None:
    with pytest.raises(ValueError, match="not a drive letter"):
        w.parse_drive(spec)


def test_calls_fail_soft_off_windows() -> None:
    import sys

    if sys.platform == "win32":
        pytest.skip("this checks the behaviour elsewhere")
    with pytest.raises(OSError, match="only available on Windows"):
        w.eject("D:")
