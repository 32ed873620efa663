"""An emulated USB optical drive whose firmware is ours (issue 12, "Tests, on real things").

- ``disc.py``: the disc description (JSON: profile, sessions and tracks, run-out, gaps, defects,
  CSS) and its loader;
- ``mmc.py``: the drive: ``Drive(disc).execute(cdb, data_out) -> Reply``, pure Python, usable
  on the host in unit tests; ``toc.py`` and ``features.py`` build its answers;
- ``ffs.py``: USB mass storage (bulk-only transport) over Linux FunctionFS, serving a ``Drive``;
- ``gadget.py``: the configfs gadget on dummy_hcd, run inside the test VM;
- ``control.py``: swap/eject discs in the running drive from a guest script;
- ``host.py``: ``usb_drive_guest(...)``, one QEMU boot with the drive as the guest's /dev/sr0;
- ``sgprobe.py``: the same list of CDBs sent through SG_IO or to a model, for comparisons.

See tests/vm/README.md.
"""
