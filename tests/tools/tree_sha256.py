#!/usr/bin/env python3
"""tree_sha256 of a source archive or directory (SPEC.md section 3, "Digests").

An independent reference implementation, used to pin the shipped source
recipes and to cross-check `mambaboot digest`.  The listing has one line per
regular file or symlink, sorted bytewise by path:

    <path>\\t<f|x|l>\\t<hex sha256 of the content, or the link target>\\n

x = regular file with any execute bit.  Directories are implied (not listed).
For an archive (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz), the archive's single
top directory is stripped; when the members do not share one top directory
the paths are used as they are.  For a directory, paths are relative to it.

usage: tree_sha256.py [--listing] ARCHIVE|DIR
  --listing  print the canonical listing instead of its sha256
"""
import hashlib
import os
import stat
import sys
import tarfile


def _entries_from_dir(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.fsencode(os.path.relpath(full, root))
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out.append((rel, b"l", os.fsencode(os.readlink(full))))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest().encode()
                kind = b"x" if st.st_mode & 0o111 else b"f"
                out.append((rel, kind, digest))
    return out


def _clean(name):
    """'./pkg//a/' -> 'pkg/a': the path, without '.' and empty components."""
    return b"/".join(p for p in name.split(b"/") if p not in (b"", b"."))


def _entries_from_tar(path):
    out = []
    with tarfile.open(path, "r:*", encoding="utf-8", errors="surrogateescape") as tar:
        members = [m for m in tar.getmembers() if m.isfile() or m.issym() or m.islnk()
                   or m.isdir()]
        names = [_clean(os.fsencode(m.name)) for m in members]
        tops = {n.split(b"/", 1)[0] for n in names}
        strip = len(tops) == 1 and all(
            b"/" in n or m.isdir() for n, m in zip(names, members))
        for name, m in zip(names, members):
            if m.isdir() or not name:
                continue
            if strip:
                name = name.split(b"/", 1)[1]
            if m.issym():
                out.append((name, b"l", os.fsencode(m.linkname)))
                continue
            data = tar.extractfile(m).read()
            kind = b"x" if m.mode & 0o111 else b"f"
            out.append((name, kind, hashlib.sha256(data).hexdigest().encode()))
    return out


def listing(path):
    entries = _entries_from_dir(path) if os.path.isdir(path) else _entries_from_tar(path)
    entries.sort(key=lambda e: e[0])
    return b"".join(b"%s\t%s\t%s\n" % e for e in entries)


def main(argv):
    args = argv[1:]
    show = False
    if args and args[0] == "--listing":
        show, args = True, args[1:]
    if len(args) != 1:
        sys.stderr.write(__doc__.split("usage: ", 1)[1])
        return 2
    text = listing(args[0])
    if show:
        sys.stdout.buffer.write(text)
    else:
        print(hashlib.sha256(text).hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
