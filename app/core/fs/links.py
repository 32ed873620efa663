"""Which symlinks may be made in the extraction folder: none that could ever lead outside it.

The rule, judged when a link is about to be made, against what the folder holds then:

    a link's target is relative; read from the link's own folder, it may climb (``..``) and
    descend through real directories as long as it stays inside the folder, but once it meets
    a symlink or a name that does not exist yet it may only descend: no ``..`` after that. Any
    symlink it meets there must itself obey the rule.

Real directories stay real (extraction never removes or replaces one), so a link that obeys the
rule climbs the same directories forever; whatever it then descends into is a real directory,
a file, nothing, or another link that obeys the rule, which stays inside by the same argument.
So no later entry, of this run or of another run into the same folder, can make it escape, and
no cleanup pass is needed. ``a -> b/b/../../x`` with ``b -> c``, ``c -> .`` is refused at once:
it climbs after passing the link ``b``.

Links already in the folder that do not obey the rule (from another tool, or an older
DiscVault) are hazards: while one exists, no link is made, and no folder is made where it
would let such a link resolve outside (each refused with a message).
"""

from __future__ import annotations

import os
import stat

from app.core.fs.outdir import NotADir, OutDir

Parts = tuple[str, ...]
SCAN_LIMIT = 1_000_000  # entries of the folder checked for links before anything is written
_MAX_HOPS = 40  # symlinks followed in one resolution, as Linux does (then ELOOP)


class FolderTooBig(Exception):
    """The folder holds too many entries to check its existing links."""


class LinkJudge:
    def __init__(self, out: OutDir) -> None:
        self.out = out
        self._trusted: dict[Parts, bool] = {}
        self.hazards: list[Parts] = []
        # Where an existing non-conforming link currently stops (a missing name): making a
        # folder there would let it continue, so each such folder is judged first.
        self._watch: dict[Parts, list[Parts]] = {}
        try:
            for parts in out.scan_links(SCAN_LIMIT):
                if not self.trusted(parts):
                    self.hazards.append(parts)
        except OverflowError:
            raise FolderTooBig(
                f"{out.path}: holds more than {SCAN_LIMIT:,} entries, too many to check its "
                "links — extract into an empty folder"
            ) from None
        for h in self.hazards:
            r = self._resolve_link(h, frozenset(), 0)
            if r[0] == "missing":
                self._watch.setdefault(r[1], []).append(h)

    # ---- the rule -------------------------------------------------------------------------------
    def refusal(self, link_dir: Parts, target: str) -> str:
        """Why a link to ``target`` may not be made in ``link_dir`` ("" when it may)."""
        why = self._rule(link_dir, target)
        if why or not self.hazards:
            return why
        return (
            "not made: the folder already holds a link that could point outside it "
            f"({'/'.join(self.hazards[0])!r})"
        )

    def made(self, parts: Parts) -> None:
        """A link that passed ``refusal`` now exists at ``parts``."""
        self._trusted[parts] = True

    def trusted(self, parts: Parts) -> bool:
        """Does the existing link at ``parts`` obey the rule?"""
        known = self._trusted.get(parts)
        if known is not None:
            return known
        # A link met again while it is being judged is part of a cycle: judged not to obey,
        # so nothing is built on a loop of links.
        self._trusted[parts] = False
        try:
            ok = self._rule(parts[:-1], self.out.readlink(parts)) == ""
        except (OSError, NotADir):
            ok = False
        self._trusted[parts] = ok
        return ok

    def _rule(self, link_dir: Parts, target: str) -> str:
        if not target:
            return "an empty link target"
        if "\0" in target:
            return "a link target containing NUL"
        size = len(os.fsencode(target))
        if size >= self.out.path_max:
            return f"a link target of {size} bytes (the limit here is {self.out.path_max - 1})"
        if os.path.isabs(target) or target.startswith("\\") or os.path.splitdrive(target)[0]:
            return f"a link to the absolute path {target!r}"
        stack = list(link_dir)
        via = ""  # the link or missing name after which only descending is allowed
        for c in target.split("/"):
            if c in ("", "."):
                continue
            if c == "..":
                if via:
                    return (
                        f"a link to {target!r}, which climbs ('..') after {via!r}: "
                        "it could point outside the folder"
                    )
                if not stack:
                    return f"a link to {target!r}, which points outside the folder"
                stack.pop()
                continue
            if via:
                continue
            here = (*stack, c)
            st = self.out.lstat(here)
            if st is not None and stat.S_ISDIR(st.st_mode):
                stack.append(c)
                continue
            if st is not None and stat.S_ISLNK(st.st_mode) and not self.trusted(here):
                return (
                    f"a link to {target!r} through {'/'.join(here)!r}, "
                    "which could point outside the folder"
                )
            via = c
        return ""

    # ---- folders that would complete a hazard ----------------------------------------------------
    def folder_refusal(self, parts: Parts) -> str:
        """Why no folder may be made at ``parts`` ("" when it may)."""
        waiting = self._watch.pop(parts, None)
        if not waiting:
            return ""
        for h in waiting:
            r = self._resolve_link(h, frozenset({parts}), 0)
            if r[0] == "outside":
                self._watch[parts] = waiting
                return (
                    f"a folder here would let the existing link {'/'.join(h)!r} "
                    "point outside the folder"
                )
        for h in waiting:
            r = self._resolve_link(h, frozenset({parts}), 0)
            if r[0] == "missing":
                self._watch.setdefault(r[1], []).append(h)
        return ""

    def _resolve_link(
        self, link: Parts, new_dirs: frozenset[Parts], hops: int
    ) -> tuple[str, Parts]:
        try:
            target = self.out.readlink(link)
        except (OSError, NotADir):
            return ("broken", ())
        return self._resolve(link[:-1], target, new_dirs, hops + 1)

    def _resolve(
        self, start: Parts, target: str, new_dirs: frozenset[Parts], hops: int
    ) -> tuple[str, Parts]:
        """Where ``target`` leads from ``start`` as the kernel would resolve it, with
        ``new_dirs`` as (empty) folders: ("inside", parts), ("missing", the first missing
        path), ("outside", ()) or ("broken", ())."""
        if hops > _MAX_HOPS:
            return ("broken", ())
        if os.path.isabs(target):
            return ("outside", ())
        stack = list(start)
        comps = [c for c in target.split("/") if c not in ("", ".")]
        for i, c in enumerate(comps):
            if c == "..":
                if not stack:
                    return ("outside", ())
                stack.pop()
                continue
            here = (*stack, c)
            if here in new_dirs:
                stack.append(c)
                continue
            st = self.out.lstat(here)
            if st is None:
                return ("missing", here)
            if stat.S_ISDIR(st.st_mode):
                stack.append(c)
            elif stat.S_ISLNK(st.st_mode):
                r = self._resolve_link(here, new_dirs, hops)
                if r[0] != "inside":
                    return r
                dest = r[1]
                dst = self.out.lstat(dest) if dest else None
                if dest and (dst is None or not stat.S_ISDIR(dst.st_mode)) and dest not in new_dirs:
                    return ("broken", ()) if i < len(comps) - 1 else ("inside", dest)
                stack = list(dest)
            elif i < len(comps) - 1:
                return ("broken", ())  # a file with more to come: ENOTDIR
            else:
                stack.append(c)
        return ("inside", tuple(stack))
