"""Keras at a version: `keras-jax@3.12.0`, `keras-numpy@nightly`.

A Keras 3 backend name may carry a Keras version after "@":

  * an exact release, `keras-jax@3.12.0` (the `keras` distribution), or an exact nightly,
    `keras-jax@3.16.0.dev2026102704` (a .dev version: the `keras-nightly` distribution);
  * `nightly`: the newest `keras-nightly` on the package index, recorded as its exact version.

That Keras (a pure-Python wheel) is installed once, `pip install --no-deps --target`, into an
overlay directory keyed by its exact version under the cache root:

    $LAYERCONTRACT_KERAS_CACHE                     (or the CLI's --keras-cache), else
    platformdirs.user_cache_dir("layercontract")/keras  ($XDG_CACHE_HOME/layercontract/keras
                                                        or ~/.cache/layercontract/keras on Linux)

    <root>/3.12.0/site-packages/keras/...    the package (the directory put on sys.path)
    <root>/3.12.0/site-packages/keras-3.12.0.dist-info/
    <root>/3.12.0/layercontract-overlay.json written last: the overlay is complete

The package directory is named site-packages because hypothesis reads the constants of every
imported module outside a ".../site-packages/" path as the user's own code: with Keras outside
one it parsed all of Keras in every generated check (seconds per run) and drew Keras's literals.
An overlay of the older layout (the package beside the marker) counts as incomplete and is
installed again.

Keras's own dependencies come from the installed environment, except those it lacks: after the
wheel, the overlay reads the wheel's Requires-Dist and installs each distribution that is not
installed here (`pip install --no-deps --target`, into the same site-packages), e.g. `dm-tree`
for Keras 3.0.x, which later releases replaced by `optree`. The marker lists what was added
("dependencies"); an overlay whose marker predates that field is completed in place (the
missing distributions added, nothing removed), so a cached Keras 3.0.x starts importing.

The backend then runs in its own process with the overlay first on sys.path (PYTHONPATH); the
frameworks (TensorFlow, JAX, torch, numpy) stay as installed. A prepared overlay needs no
network: an exact version is found in the cache, and `nightly` falls back to the newest cached
nightly when the index cannot be reached (or when $LAYERCONTRACT_OFFLINE is set), saying so.

The parent (run, run-many) prepares the overlay and hands its directory to the backend's
process in $LAYERCONTRACT_KERAS_OVERLAY, so that `nightly` means the same build in every process
of one run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

from packaging.version import InvalidVersion, Version

from layercontract.spec import user_cache

ENV_CACHE = "LAYERCONTRACT_KERAS_CACHE"
ENV_OVERLAY = "LAYERCONTRACT_KERAS_OVERLAY"  # set by the parent for the backend's process
ENV_OFFLINE = "LAYERCONTRACT_OFFLINE"
MARKER = "layercontract-overlay.json"
NIGHTLY = "nightly"
RELEASE_DIST, NIGHTLY_DIST = "keras", "keras-nightly"
INDEX_TIMEOUT_S = 20
MAX_REQUEST_CHARS = 64  # "3.16.0.dev2026102704" is 20: a longer request is no Keras version
MAX_MARKER_BYTES = 64 * 1024


class OverlayError(Exception):
    """A Keras version that cannot be resolved or installed (one clear message)."""


@dataclasses.dataclass(frozen=True)
class Overlay:
    path: pathlib.Path
    distribution: str  # "keras" or "keras-nightly"
    version: str  # exact, e.g. "3.12.0" or "3.16.0.dev2026102704"
    note: str = ""  # how it was found when that matters (offline fallback)
    seconds: float = 0.0  # time to prepare it in this process

    @property
    def packages(self) -> pathlib.Path:
        """The directory that goes on sys.path (PYTHONPATH) for this Keras."""
        return packages_dir(self.path)


def packages_dir(path: pathlib.Path) -> pathlib.Path:
    return path / "site-packages"


def split_name(name: str) -> tuple[str, str | None]:
    """ "keras-jax@3.12.0" -> ("keras-jax", "3.12.0"); a name without "@" -> (name, None)."""
    if "@" not in name or ":" in name:  # "package.module:Class" specs never carry a version
        return name, None
    base, _, request = name.rpartition("@")
    if not base or not request:
        raise OverlayError(f"backend name {name!r}: expected NAME@VERSION, e.g. keras-jax@3.12.0 or keras-jax@nightly")
    return base, request.strip()


def check_request(request: str) -> tuple[str, Version | None]:
    """(distribution, exact version or None for nightly) of a version request."""
    if request.lower() == NIGHTLY:
        return NIGHTLY_DIST, None
    if len(request) > MAX_REQUEST_CHARS:
        raise OverlayError(
            f"Keras version {request[:20]!r}... is {len(request)} characters long: not a "
            f"Keras version (at most {MAX_REQUEST_CHARS}; e.g. 3.12.0, 3.16.0.dev2026102704, nightly)"
        )
    try:
        version = Version(request)
    except (InvalidVersion, ValueError):  # ValueError: a number past int's digit limit
        raise OverlayError(
            f"Keras version {request!r} is not a PEP 440 version nor 'nightly' "
            "(e.g. 3.12.0, 3.16.0.dev2026102704, nightly)"
        ) from None
    if version.local or version.epoch or len(version.release) != 3:
        raise OverlayError(
            f"Keras version {request!r}: give an exact release such as 3.12.0 "
            "(major.minor.micro), a nightly such as 3.16.0.dev2026102704, or 'nightly'"
        )
    return (NIGHTLY_DIST if version.is_devrelease else RELEASE_DIST), version


def cache_root() -> pathlib.Path:
    configured = os.environ.get(ENV_CACHE)
    if configured:
        return pathlib.Path(configured).expanduser()
    return user_cache.directory() / "keras"


def _read_marker(path: pathlib.Path) -> dict | None:
    """The marker of a complete overlay, or None (missing, unreadable, not ours, or naming a
    distribution or version that is not the directory's: such an overlay counts as incomplete)."""
    try:
        with open(path / MARKER, "rb") as f:
            data = json.loads(f.read(MAX_MARKER_BYTES + 1).decode("utf-8"))
        if not isinstance(data, dict) or not (packages_dir(path) / "keras" / "__init__.py").is_file():
            return None
        version, distribution = data.get("version"), data.get("distribution", RELEASE_DIST)
        if (
            not isinstance(version, str)
            or len(version) > MAX_REQUEST_CHARS
            or version != path.name
            or distribution not in (RELEASE_DIST, NIGHTLY_DIST)
        ):
            return None
        Version(version)
    except (OSError, ValueError):  # ValueError: not JSON, not UTF-8, not a version
        return None
    return data


def cached(root: pathlib.Path | None = None) -> list[Overlay]:
    """Every complete overlay in the cache, oldest version first (an unreadable cache: none)."""
    root = root or cache_root()
    try:
        paths = list(root.iterdir()) if root.is_dir() else []
    except OSError:
        paths = []
    found = []
    for path in paths:
        marker = _read_marker(path) if not path.name.startswith(".") and path.is_dir() else None
        if marker:
            found.append(Overlay(path, marker.get("distribution", RELEASE_DIST), marker["version"]))
    return sorted(found, key=lambda o: Version(o.version))


def _pip(*args, timeout=None) -> subprocess.CompletedProcess:
    # processes.run: pip runs in its own group, dies with this process (PR_SET_PDEATHSIG) and is
    # killed with its group when this process is interrupted or the timeout passes
    from layercontract.spec.harness import processes

    return processes.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], timeout=timeout)


def _nearest_versions(requested: str, listed: str, count: int = 2) -> str:
    """The versions of pip's "(from versions: ...)" list nearest to `requested`: a few below and
    above, never the whole list."""
    versions = []
    for text in listed.split(","):
        with contextlib.suppress(InvalidVersion, ValueError):
            versions.append(Version(text.strip()))
    if not versions:
        return "no versions at all"
    try:
        want = Version(requested)
    except (InvalidVersion, ValueError):
        return ", ".join(map(str, sorted(versions)[-count:]))
    versions = sorted(set(versions))
    below = [v for v in versions if v < want][-count:]
    above = [v for v in versions if v > want][:count]
    return ", ".join(map(str, below + above))


def _pip_error(stderr: str, distribution: str, version: str) -> str:
    """One short line from pip's error output (which may list every version on the index)."""
    listed = re.search(r"\(from versions: ([^)]*)\)", stderr)
    if listed is not None:
        return (
            f"{distribution} {version} is not on the package index; the nearest there: "
            f"{_nearest_versions(version, listed.group(1))}"
        )
    lines = (
        [ln for ln in stderr.strip().splitlines() if ln.startswith("ERROR")]
        or stderr.strip().splitlines()[-3:]
        or ["pip installed no keras package"]
    )
    text = " ".join(lines)
    return text if len(text) <= 300 else text[:300] + "... (cut)"


def newest_on_index(distribution: str = NIGHTLY_DIST) -> str:
    """The newest version of a distribution on the configured index (pip's own configuration)."""
    try:
        proc = _pip(
            "index", "versions", distribution, "--pre", "--timeout", "10", "--retries", "1", timeout=INDEX_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise OverlayError(f"could not ask the package index for {distribution}: {e}") from None
    found = re.search(rf"^{re.escape(distribution)} \(([^)]+)\)", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not found:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise OverlayError(f"could not find {distribution} on the package index: {detail}")
    return found.group(1)


def resolve_nightly(root: pathlib.Path) -> tuple[str, str]:
    """(exact nightly version, note): the index's newest, else the newest cached one."""
    offline = os.environ.get(ENV_OFFLINE, "").strip().lower() not in ("", "0", "false", "no")
    problem = f"${ENV_OFFLINE} is set" if offline else ""
    if not offline:
        try:
            return newest_on_index(NIGHTLY_DIST), ""
        except OverlayError as e:
            problem = str(e)
    nightlies = [o for o in cached(root) if o.distribution == NIGHTLY_DIST]
    if not nightlies:
        raise OverlayError(
            f"keras@nightly: {problem}, and the Keras cache {root} holds no keras-nightly to fall back on"
        )
    newest = nightlies[-1]
    return newest.version, (
        f"keras@nightly resolved offline ({problem}): using the newest cached "
        f"keras-nightly {newest.version}, which may not be the newest on the index"
    )


def _check_root(root: pathlib.Path) -> None:
    """The cache root must be a directory this process can write (created if missing)."""
    hint = f"give a writable directory to --keras-cache or ${ENV_CACHE}"
    if root.exists() and not root.is_dir():
        raise OverlayError(f"the Keras cache {root} is not a directory; {hint}")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OverlayError(f"cannot create the Keras cache {root}: {e.strerror or e}; {hint}") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise OverlayError(f"the Keras cache {root} is not writable; {hint}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(root: pathlib.Path) -> list[pathlib.Path]:
    """Remove the .tmp-<version>-<pid> directories of installs whose process is gone (killed
    mid-install: SIGKILL, a crash); returns what was removed."""
    removed = []
    with contextlib.suppress(OSError):
        for path in root.glob(".tmp-*-*"):
            pid = path.name.rpartition("-")[2]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


@contextlib.contextmanager
def _lock(root: pathlib.Path, key: str):
    import fcntl

    with open(root / f".lock-{key}", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _keras_requirements(packages: pathlib.Path) -> list:
    """The Requires-Dist of the Keras wheel in an overlay (markers evaluated here, no extras)."""
    from packaging.requirements import InvalidRequirement, Requirement

    found = []
    for info in sorted(packages.glob("keras*.dist-info")):
        try:
            lines = (info / "METADATA").read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            if not line:  # the headers end at the first blank line
                break
            if line.lower().startswith("requires-dist:"):
                try:
                    req = Requirement(line.split(":", 1)[1].strip())
                except InvalidRequirement:
                    continue
                if req.marker is None or req.marker.evaluate({"extra": ""}):
                    found.append(req)
    return found


def _distribution_installed(name: str, packages: pathlib.Path) -> bool:
    """Installed in this environment, or already added to the overlay's site-packages."""
    import importlib.metadata

    try:
        importlib.metadata.distribution(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    return any(importlib.metadata.distributions(name=name, path=[str(packages)]))


def missing_requirements(packages: pathlib.Path) -> list[str]:
    """The Keras wheel's requirements that neither this environment nor the overlay has."""
    return [
        f"{req.name}{req.specifier}"
        for req in _keras_requirements(packages)
        if not _distribution_installed(req.name, packages)
    ]


def _install_missing(packages: pathlib.Path, scratch: pathlib.Path, what: str) -> dict:
    """Install the missing requirements (--no-deps) into `scratch`, then move them into
    `packages`; {distribution: version} of what was added."""
    import importlib.metadata

    wanted = missing_requirements(packages)
    if not wanted:
        return {}
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        proc = _pip(
            "install",
            "--no-deps",
            "--only-binary=:all:",
            "--no-compile",
            "--quiet",
            "--target",
            str(scratch),
            *wanted,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        shutil.rmtree(scratch, ignore_errors=True)
        raise OverlayError(f"could not install {', '.join(wanted)}, which {what} needs: {e}") from None
    if proc.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        lines = (
            [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("ERROR")]
            or proc.stderr.strip().splitlines()[-3:]
            or ["pip failed"]
        )
        raise OverlayError(
            f"could not install {', '.join(wanted)}, which {what} needs and the "
            f"installed frameworks lack: {' '.join(lines)}"
        )
    added = {d.metadata["Name"]: d.version for d in importlib.metadata.distributions(path=[str(scratch)])}
    packages.mkdir(parents=True, exist_ok=True)
    for entry in scratch.iterdir():
        if not (packages / entry.name).exists():
            os.replace(entry, packages / entry.name)
    shutil.rmtree(scratch, ignore_errors=True)
    return dict(sorted(added.items()))


def _write_marker(path: pathlib.Path, marker: dict):
    scratch = path / f".{MARKER}.{os.getpid()}"
    scratch.write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    os.replace(scratch, path / MARKER)


def complete(path: pathlib.Path, root: pathlib.Path) -> dict | None:
    """An overlay whose marker predates "dependencies": add what its Keras lacks, in place."""
    with _lock(root, path.name):
        marker = _read_marker(path)
        if marker is None or "dependencies" in marker:  # gone, or completed while we waited
            return marker
        what = f"{marker.get('distribution', RELEASE_DIST)} {marker.get('version', path.name)}"
        marker["dependencies"] = _install_missing(
            packages_dir(path), root / f".tmp-deps-{path.name}-{os.getpid()}", what
        )
        _write_marker(path, marker)
        return marker


def install(distribution: str, version: str, root: pathlib.Path) -> pathlib.Path:
    """pip install --no-deps --target a fresh directory, then move it into the cache. An
    OverlayError (one line) for anything in the way: a cache that is a file or not writable, a
    file where the version's directory goes, no space, a version not on the index."""
    _check_root(root)
    target = root / version
    try:
        with _lock(root, version):
            if _read_marker(target):  # another process installed it while we waited
                return target
            remove_stale_temporaries(root)
            if target.exists() and not target.is_dir():
                raise OverlayError(
                    f"{target} is a file where the Keras cache keeps Keras {version}: remove it and run again"
                )
            tmp = root / f".tmp-{version}-{os.getpid()}"
            try:
                _install_into(tmp, target, distribution, version)
            finally:  # also on SIGTERM/SIGHUP (an exception in run/run-many) and Ctrl-C
                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as e:  # the lock, the marker, the move: no space, read-only, name too long
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        raise OverlayError(
            f"could not install {distribution}=={version} into the Keras cache {root}: {e.strerror or e}{where}"
        ) from None
    return target


def _install_into(tmp: pathlib.Path, target: pathlib.Path, distribution: str, version: str) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)  # an incomplete earlier attempt
    started = time.monotonic()
    try:
        proc = _pip(
            "install",
            "--no-deps",
            "--only-binary=:all:",
            "--no-compile",
            "--quiet",
            "--target",
            str(packages_dir(tmp)),
            f"{distribution}=={version}",
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        raise OverlayError(f"could not install {distribution}=={version}: pip took more than 600 s") from None
    if proc.returncode != 0 or not (packages_dir(tmp) / "keras" / "__init__.py").is_file():
        raise OverlayError(
            f"could not install {distribution}=={version} (is it on the package "
            f"index? offline and not cached?): {_pip_error(proc.stderr, distribution, version)}"
        )
    scratch = tmp.parent / f".tmp-deps-{version}-{os.getpid()}"
    try:
        dependencies = _install_missing(packages_dir(tmp), scratch, f"{distribution} {version}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    marker = {
        "distribution": distribution,
        "version": version,
        "dependencies": dependencies,
        "installed": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "install_s": round(time.monotonic() - started, 2),
        "python": sys.version.split()[0],
    }
    (tmp / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, target)


def prepare(request: str, root: pathlib.Path | None = None) -> Overlay:
    """The overlay for a version request: found in the cache, else installed into it."""
    started = time.monotonic()
    root = root or cache_root()
    distribution, version = check_request(request)
    if root.exists() and not root.is_dir():
        raise OverlayError(
            f"the Keras cache {root} is not a directory; give a directory to --keras-cache or ${ENV_CACHE}"
        )
    note = ""
    if version is None:
        exact, note = resolve_nightly(root)
    else:
        exact = str(version)
    path = root / exact
    marker = _read_marker(path)
    if not marker:
        path = install(distribution, exact, root)
    elif "dependencies" not in marker:
        complete(path, root)
    marker = _read_marker(path)
    assert marker is not None  # install() wrote it
    return Overlay(
        path, marker.get("distribution", distribution), marker["version"], note, round(time.monotonic() - started, 3)
    )


def from_environment(request: str) -> Overlay | None:
    """The overlay the parent prepared for this process ($LAYERCONTRACT_KERAS_OVERLAY), if it
    fits the request (an exact request must name its version)."""
    given = os.environ.get(ENV_OVERLAY)
    if not given:
        return None
    path = pathlib.Path(given)
    marker = _read_marker(path)
    if not marker:
        raise OverlayError(
            f"${ENV_OVERLAY}={given} is not a prepared Keras overlay (no {MARKER} or keras package there)"
        )
    distribution, version = check_request(request)
    if version is not None and Version(marker["version"]) != version:
        return None  # prepared for another request: ignore it
    if version is None and marker.get("distribution") != NIGHTLY_DIST:
        return None
    return Overlay(path, marker.get("distribution", distribution), marker["version"])


def locate(request: str) -> Overlay:
    """In the backend's process: the parent's overlay, else prepare one here."""
    return from_environment(request) or prepare(request)


def activate(overlay: Overlay):
    """Put the overlay first on sys.path, before Keras is imported. Raises OverlayError when a
    Keras from elsewhere is already imported in this process."""
    keras = sys.modules.get("keras")
    if keras is not None and not _is_inside(getattr(keras, "__file__", None), overlay.packages):
        raise OverlayError(
            f"Keras is already imported in this process from {keras.__file__}; "
            f"Keras {overlay.version} from {overlay.path} needs a process of its own"
        )
    entry = str(overlay.packages)
    if sys.path[:1] != [entry]:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)
        sys.path.insert(0, entry)


def _is_inside(file, directory: pathlib.Path) -> bool:
    if not file:
        return False
    try:
        pathlib.Path(file).resolve().relative_to(directory.resolve())
        return True
    except ValueError:
        return False


def verify_imported(overlay: Overlay):
    """After the backend loaded: the `keras` module must be the overlay's."""
    keras = sys.modules.get("keras")
    where = getattr(keras, "__file__", None)
    if keras is None or not _is_inside(where, overlay.packages):
        raise OverlayError(f"the imported keras ({where}) is not the overlay's ({overlay.packages})")


def child_environment(overlay: Overlay, env: dict | None = None) -> dict:
    """The environment of a backend process that runs on this overlay."""
    env = dict(os.environ if env is None else env)
    env[ENV_OVERLAY] = str(overlay.path)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(overlay.packages), env.get("PYTHONPATH", "")) if p)
    return env
