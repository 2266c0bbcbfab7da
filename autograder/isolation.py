"""Confining a student process: namespaces, a hidden course, no network, resource limits.

Applied in a freshly forked child before any student code runs. Each layer is used where the
machine allows it and reported otherwise (`isolate` returns what it could not do):

- a new network namespace: no interface but a downed loopback, so no connection anywhere;
- a new mount namespace: every file system read-only, and ``solutions/``, ``autograder/``
  (gradebook, submissions, results), ``tests/`` and ``utils/`` (the reference source) hidden
  under empty tmpfs; a private, small, writable /tmp;
- a new PID namespace, the student process its init: when it dies, everything in it dies;
- a seccomp filter: no new process or thread (clone, fork, vfork) and no exec, so neither a
  fork bomb nor a subprocess is possible;
- rlimits on address space (memory), CPU seconds, file size, open files; no core dumps.
"""
import platform
import struct
import ctypes
import ctypes.util
import os
import resource
import signal

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 32, 4096, 16384, 1 << 18)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source.encode(), str(target).encode(),
                       fstype.encode() if fstype else None, flags,
                       data.encode() if data else None), f"mount {target}")


def _prctl(*args):
    prctl = getattr(_libc, "prctl", None)  # Linux only
    return prctl(*args) if prctl is not None else -1


def die_with_parent():
    """Ask the kernel to SIGKILL this process when its parent dies."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def not_dumpable():
    """Keep other (unprivileged) processes from reading this one's memory via /proc."""
    _prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def enter_namespaces():
    """Unshare user (if not root), mount, PID and network namespaces; returns what failed."""
    problems = []
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET
    if uid != 0:
        flags |= CLONE_NEWUSER
    if not hasattr(_libc, "unshare"):
        return ["namespaces unavailable (not Linux)"]
    if _libc.unshare(flags) != 0:
        problems.append(f"namespaces unavailable ({os.strerror(ctypes.get_errno())})")
        return problems
    if uid != 0:  # become root inside the new user namespace, to be allowed to mount
        try:
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"0 {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"0 {gid} 1")
        except OSError as error:
            problems.append(f"user namespace not usable ({error})")
    return problems


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _read_only_everywhere(root):
    """Every mount read-only (mount_setattr, Linux 5.12+), else at least the course root."""
    attr = _MountAttr(1, 0, 0, 0)  # MOUNT_ATTR_RDONLY
    _libc.syscall.restype = ctypes.c_long
    if _libc.syscall(442, -100, b"/", 0x8000, ctypes.byref(attr), ctypes.sizeof(attr)) == 0:
        return
    _mount(str(root), root, None, MS_BIND | MS_REC)
    _mount("none", root, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def hide_course(root, hidden, workdir):
    """In the current mount namespace: everything read-only, ``hidden`` folders empty,
    ``workdir`` a private writable tmpfs."""
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    _read_only_everywhere(root)
    for folder in hidden:
        if os.path.isdir(folder) and os.path.realpath(folder) != os.path.realpath(workdir):
            _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=16k")
    os.makedirs(workdir, exist_ok=True)
    _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=0777")


def mount_proc():
    """A /proc that shows only this PID namespace (call in its init)."""
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV)
    except OSError:
        pass


# seccomp: system calls that create processes or threads, or run programs
_BLOCKED = {"x86_64": (0xC000003E, (56, 57, 58, 59, 322, 435)),   # clone fork vfork execve
            "aarch64": (0xC00000B7, (220, 221, 281, 435))}          # execveat clone3


def forbid_new_processes():
    """Install a seccomp filter failing process/thread creation and exec with EPERM.

    Returns False where the architecture or kernel does not allow it.
    """
    arch = _BLOCKED.get(platform.machine())
    if arch is None:
        return False
    audit_arch, numbers = arch
    ld, jeq, ret = 0x20, 0x15, 0x06

    def op(code, k, jt=0, jf=0):
        return struct.pack("HBBI", code, jt, jf, k)

    prog = [op(ld, 4), op(jeq, audit_arch, 1, 0), op(ret, 0x80000000), op(ld, 0)]
    prog += [op(jeq, nr, len(numbers) - i, 0) for i, nr in enumerate(numbers)]
    prog += [op(ret, 0x7FFF0000), op(ret, 0x00050000 | 1)]  # allow / errno EPERM
    buffer = ctypes.create_string_buffer(b"".join(prog))

    class _Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    program = _Prog(len(prog), ctypes.cast(buffer, ctypes.c_void_p))
    if _prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    return _prctl(22, 2, ctypes.byref(program), 0, 0) == 0  # PR_SET_SECCOMP, FILTER


def limit(memory_bytes, cpu_seconds, fsize=8 << 20, nofile=64):
    """Resource limits for the student process (memory is added to what it already uses)."""
    try:
        with open("/proc/self/statm") as f:
            in_use = int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # no /proc (not Linux): count from the peak resident size instead
        in_use = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    settings = [(resource.RLIMIT_AS, in_use + memory_bytes),
                (resource.RLIMIT_CPU, max(1, int(cpu_seconds))),
                (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_NOFILE, nofile),
                (resource.RLIMIT_CORE, 0)]
    for which, value in settings:
        try:
            soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large file write fails, not kills
