"""macOS drive layer, pure parts: diskutil/drutil parsing, ioctl numbers, BSD names."""

from __future__ import annotations

import plistlib

import pytest

from app.platform import macos as m

LIST = plistlib.dumps(
    {
        "AllDisks": ["disk0", "disk0s1", "disk2"],
        "AllDisksAndPartitions": [
            {"DeviceIdentifier": "disk0", "Partitions": []},
            {"DeviceIdentifier": "disk2", "Content": "CD_partition_scheme"},
        ],
        "WholeDisks": ["disk0", "disk2"],
        "VolumesFromDisks": ["Macintosh HD", "HOLIDAY_2009"],
    }
)
INFO_DVD = plistlib.dumps(
    {
        "DeviceIdentifier": "disk2",
        "DeviceNode": "/dev/disk2",
        "MediaName": "HL-DT-ST DVDRW  GX40N",
        "OpticalDeviceType": "DVD-RW",
        "OpticalMediaType": "DVD-R",
        "VolumeName": "HOLIDAY_2009",
        "FilesystemType": "udf",
        "MountPoint": "/Volumes/HOLIDAY_2009",
        "TotalSize": 4_617_322_496,
        "DeviceBlockSize": 2048,
        "Ejectable": True,
        "Removable": True,
        "Internal": False,
    }
)
INFO_SSD = plistlib.dumps(
    {
        "DeviceIdentifier": "disk0",
        "MediaName": "APPLE SSD",
        "TotalSize": 500_277_790_720,
        "DeviceBlockSize": 4096,
        "Ejectable": False,
        "SolidState": True,
    }
)
DRUTIL = """ Vendor   Product           Rev
 HL-DT-ST DVDRW  GX40N     RQ00

           Type: DVD-R                Name: /dev/disk2
       Sessions: 1                  Tracks: 1
   Overwritable:   00:00:00         blocks:        0 /   0.00MB /   0.00MiB
     Space Free:   00:00:00         blocks:        0 /   0.00MB /   0.00MiB
     Space Used:  1002:13:12        blocks:  2254512 /   4.62GB /   4.30GiB
    Writability:
      Book Type: DVD-R (v5)
"""
DRUTIL_EMPTY = """ Vendor   Product           Rev
 HL-DT-ST DVDRW  GX40N     RQ00

           Type: No Media Inserted
"""


def test_ioctl_numbers() -> None:
    assert m.DKIOCGETBLOCKSIZE == 0x40046418
    assert m.DKIOCGETBLOCKCOUNT == 0x40086419


@pytest.mark.parametrize(
    "spec", ["disk2", "/dev/disk2", "/dev/rdisk2", "disk2s1", "/dev/rdisk2s1s2"]
)
def test_bsd_names(spec: str) -> None:
    assert m.whole_disk(spec) == "disk2"
    assert m.raw_node(spec) == "/dev/rdisk2"


def test_not_bsd_names() -> None:
    with pytest.raises(ValueError, match="not a disk"):
        m.whole_disk("/dev/sr0")


def test_diskutil_parsers() -> None:
    assert m.parse_diskutil_list(LIST) == ["disk0", "disk2"]
    dvd = m.parse_diskutil_info(INFO_DVD)
    assert (dvd["optical"], dvd["media"], dvd["label"], dvd["bytes"] // 2048) == (
        True,
        "DVD-R",
        "HOLIDAY_2009",
        2_254_552,
    )
    assert m.parse_diskutil_info(INFO_SSD)["optical"] is False


def test_drutil_status() -> None:
    st = m.parse_drutil_status(DRUTIL)
    assert st["vendor"] == "HL-DT-ST" and st["Type"] == "DVD-R" and st["Name"] == "/dev/disk2"
    assert m.drutil_has_disc(st)
    assert not m.drutil_has_disc(m.parse_drutil_status(DRUTIL_EMPTY))
