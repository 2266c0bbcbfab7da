"""Confining a student process: namespaces, a hidden course, no network, resource limits.

Applied in a freshly forked child before any student code runs. Each layer is used where the
machine allows it and reported otherwise (`isolate` returns what it could not do):

- a new network namespace: no interface but a downed loopback, so no connection anywhere;
- a new mount namespace: every file system read-only, and ``solutions/``, ``autograder/``
  (gradebook, submissions, results), ``tests/`` and ``utils/`` (the reference source) hidden
  under empty tmpfs; a private, small, writable /tmp;
- a new PID namespace, the student process its init: when it dies, everything in it dies;
- a seccomp filter: no new process or thread (clone, fork, vfork) and no exec, so neither a
  fork bomb nor a subprocess is possible; no signal to any process but itself (kill(-1) and
  kill(0) fail), no ptrace; system calls of another ABI (x32) refused;
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


# seccomp. Refused with EPERM: creating processes or threads and running programs
# (clone fork vfork execve execveat clone3), reading or writing another process (ptrace,
# process_vm_readv/writev) and signals through a pidfd (pidfd_send_signal, pidfd_getfd).
# Signals by pid (kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo) pass only when the
# target is the caller itself: kill(0), kill(-1) and any other pid fail. Every system call of
# another ABI than the native one (the x32 numbers, nr | 0x40000000, on x86_64; a foreign
# architecture) is refused too: a filter matching numbers alone would let them through.
_SECCOMP = {
    "x86_64": {"arch": 0xC000003E, "x32": 0x40000000,
               "refused": (56, 57, 58, 59, 322, 435, 101, 310, 311, 424, 438),
               "signals": (62, 200, 234, 129, 297)},
    "aarch64": {"arch": 0xC00000B7, "x32": None,
                "refused": (220, 221, 281, 435, 117, 270, 271, 424, 438),
                "signals": (129, 130, 131, 138, 240)},
}
SECCOMP_ALLOW, SECCOMP_KILL_PROCESS = 0x7FFF0000, 0x80000000
SECCOMP_EPERM = 0x00050000 | 1


def seccomp_program(machine, own_pid):
    """The classic-BPF seccomp program (a list of (code, jt, jf, k)) for ``machine``."""
    spec = _SECCOMP[machine]
    ld_w_abs, jeq_k, jge_k, ret_k = 0x20, 0x15, 0x35, 0x06
    prog = [(ld_w_abs, 0, 0, 4)]                       # A = seccomp_data.arch
    prog.append((jeq_k, 1, 0, spec["arch"]))            # a foreign architecture: kill
    prog.append((ret_k, 0, 0, SECCOMP_KILL_PROCESS))
    prog.append((ld_w_abs, 0, 0, 0))                    # A = seccomp_data.nr
    refused, signals = spec["refused"], spec["signals"]
    # jumps are relative to the next instruction; the tail is: ALLOW, EPERM, pid check
    body = []
    if spec["x32"]:
        body.append(("jge", spec["x32"], "eperm"))
    body += [("jeq", nr, "eperm") for nr in refused]
    body += [("jeq", nr, "pid") for nr in signals]
    start = len(prog)
    allow = start + len(body)
    labels = {"allow": allow, "eperm": allow + 1, "pid": allow + 2}
    for i, (op, k, target) in enumerate(body):
        jt = labels[target] - (start + i + 1)
        prog.append((jge_k if op == "jge" else jeq_k, jt, 0, k))
    prog.append((ret_k, 0, 0, SECCOMP_ALLOW))
    prog.append((ret_k, 0, 0, SECCOMP_EPERM))
    prog.append((ld_w_abs, 0, 0, 16))                   # A = low 32 bits of args[0] (a pid)
    prog.append((jeq_k, 0, 1, own_pid & 0xFFFFFFFF))    # the caller itself: allowed
    prog.append((ret_k, 0, 0, SECCOMP_ALLOW))
    prog.append((ret_k, 0, 0, SECCOMP_EPERM))
    assert all(0 <= jt < 256 for _, jt, _, _ in prog)
    return prog


def forbid_new_processes():
    """Install the seccomp filter above (see ``_SECCOMP``) in this process, for good.

    Also moves the process into a process group of its own, so that a signal to "my group"
    could not reach the grader even without the filter. Returns False where the architecture
    or kernel does not allow a filter.
    """
    try:
        os.setpgid(0, 0)
    except OSError:
        pass  # already a group leader (the init of a PID namespace)
    if platform.machine() not in _SECCOMP:
        return False
    prog = seccomp_program(platform.machine(), os.getpid())
    buffer = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in prog))

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
