"""`discvault build` blames the right thing, with the documented exit code, and leaves nothing."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import MakeDevice, random_bytes
from tests.integration.test_rip_faults import run_cli


def small_tree(root: Path) -> Path:
    root.mkdir()
    (root / "a.txt").write_text("a")
    return root


def test_a_folder_as_output_is_a_destination_problem(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "src")
    target = tmp_path / "images"
    target.mkdir()
    for extra in ([], ["--force"]):
        r = run_cli("build", str(tree), str(target), *extra)
        assert r.returncode == 4, r.stderr
        line = r.stderr.strip().splitlines()[-1]
        assert line.startswith(f"discvault: {target} is a folder — ")
        assert "src.iso" in line  # says what to type instead
        assert list(target.iterdir()) == []
    assert not Path(str(target) + ".part").exists()


def test_an_output_in_a_missing_folder_is_refused_up_front(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "src")
    out = tmp_path / "nowhere" / "o.iso"
    r = run_cli("build", str(tree), str(out))
    assert r.returncode == 4
    assert r.stderr.strip().splitlines()[-1] == (
        f"discvault: {tmp_path / 'nowhere'} does not exist — create it or choose another place"
    )


def test_an_unreadable_source_file_is_named_not_the_image(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    """The folder is faultfs itself: its file `disc` reads its first sector, then fails with
    EIO at sector 40, as a file on a scratched disc or a dying disk does."""
    dev = make_device(random_bytes(100 * 2048), [{"lba": 40, "count": 2, "kind": "bad"}])
    out = tmp_path / "o.iso"
    r = run_cli("build", str(dev.mnt), str(out))
    assert r.returncode == 4, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("discvault: disc: cannot be read (Input/output error) — ")
    assert str(out) not in line
    assert not out.exists() and not Path(str(out) + ".part").exists()


def test_the_image_is_never_built_into_itself(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "src")
    (tree / "b.bin").write_bytes(random_bytes(300_000))
    out = tree / "self.iso"
    assert run_cli("build", str(tree), str(out)).returncode == 0
    first = out.stat().st_size
    r = run_cli("build", str(tree), str(out), "--force")
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size == first  # the first image was not put into the second
    assert "2 file(s)" in r.stdout


def test_too_big_for_the_medium_is_refused_before_writing(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "src")
    with open(tree / "big.bin", "wb") as f:  # sparse: costs nothing to make
        f.truncate(360_000 * 2048 - 8 * 2048)  # the empty image alone takes 31 sectors
    out = tmp_path / "o.iso"
    r = run_cli("build", str(tree), str(out), "--media", "cd")
    assert r.returncode == 4 and "a cd holds" in r.stderr
    assert r.stderr.strip().endswith("— choose a larger medium or fewer files")
    assert not out.exists() and not Path(str(out) + ".part").exists()
