"""JupyterLab on loopback, driven in headless Chromium (Playwright) the way a student uses it.

Used by the browser tests (tests/browser/test_browser.py) and by the benchmark (benchmarks/):

    with JupyterLab(root) as lab, Browser() as browser:
        nb = lab.open(browser, "01_perceptron/01_perceptron.ipynb")
        nb.run_all()                      # Shift-Enter through every cell, errors and all
        for explorer in nb.explorers():   # every displayed widget with a plot and a control
            ms = nb.press(explorer)       # arrow key on its main control -> ms to a new frame
        nb.close()

Robustness rules (measured on this machine): JupyterLab gets a token, 127.0.0.1 and a free port (retried
if taken), its own settings (news toast silenced, autosave off, every cell in the DOM) and its
own workspace and runtime folders; every wait is on a state (the kernel's "idle", a cell's prompt
number, a figure's layers changing), never a fixed sleep; the server, its kernels and the browser are torn
down by process id whatever happens. Nothing is fetched from the network.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_CONFIG = ROOT / "jupyter"  # the course's server config, used when it exists
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-sync", "--no-first-run", "--mute-audio", "--disable-breakpad",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows", "--metrics-recording-only",
    "--password-store=basic", "--use-mock-keychain",
]
SETTINGS = {  # JupyterLab user settings: quiet, deterministic, nothing saved behind our back
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "recordTiming": True},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}
# Recorded in every page: when a key or mouse button last went down; and, for each armed
# explorer figure (utils.explorers.widgets: a grid of layers), when its layers last changed: the moving
# layers' markup replaced (its new pictures counted once loaded, ready to paint), or a picture's
# source changed and loaded.
PAGE_HOOKS = """
(() => {
  for (const type of ['keydown', 'mousedown'])
    document.addEventListener(type, () => { window.__lastInput = performance.now(); }, true);
  window.__armFigure = (figure) => {
    figure.__changes = [];
    if (!figure.__watched) {
      figure.__watched = true;
      const note = () => { if (figure.__changes) figure.__changes.push(performance.now()); };
      const shown = (node) => !(node.closest && node.closest('.course-defs'))
                              && !(node.parentElement && node.parentElement.closest('.course-defs'));
      const images = (node) => node.tagName === 'IMG' ? [node]
                               : node.querySelectorAll ? [...node.querySelectorAll('img')] : [];
      new MutationObserver((records) => {  // not glyph definitions: they draw nothing
        const shownRecords = records.filter(r => (r.type !== 'attributes' || r.target.tagName !== 'IMG')
                                                 && shown(r.target));
        if (!shownRecords.length) return;
        // a new picture counts once it can be painted: now if it is already loaded (a data:
        // URL the page has seen), else at its load event (below)
        const added = shownRecords.flatMap(r => [...r.addedNodes].flatMap(images));
        for (const img of added) img.__loadedWhenAdded = img.complete;
        if (added.every(img => img.complete)) note();
      }).observe(figure, {childList: true, characterData: true, subtree: true,
                          attributes: true, attributeFilter: ['style', 'class']});
      figure.addEventListener('load', (e) => {  // a new picture decoded, or a src changed
        if (e.target.tagName === 'IMG' && shown(e.target) && !e.target.__loadedWhenAdded)
          note(); }, true);
    }
  };
})();
"""


def chromium_executable():
    """Debian's chromium binary (the wrapper script's target when it is there), or None."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/lib/chromium/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def unavailable():
    """Why the browser tests cannot run here, or None when they can."""
    if chromium_executable() is None:
        return ("no chromium: install Debian's `chromium` (tests/browser/setup.sh does it as root)"
                " or set CHROMIUM=/path/to/chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Playwright client is not installed (tests/browser/setup.sh installs it)"
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is not installed in this environment"
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid):
    """Process ids whose parent is ``pid`` (Linux /proc), recursively."""
    found = []
    try:
        stats = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    parents = {}
    for p in stats:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(p))
        except (OSError, IndexError, ValueError):
            continue
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 with a token, serving ``root_dir``; a context manager.

    Args:
        root_dir: the folder shown in the file browser (a copy of the course, never the repo's
            own lectures: running cells must not leave outputs in committed files).
        env: extra environment variables (e.g. ``JUPYTER_CONFIG_PATH`` for nbgrader's config).
        startup_timeout: seconds to wait for the server to answer.
    """

    def __init__(self, root_dir, *, env=None, startup_timeout=90):
        self.root_dir = Path(root_dir)
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(16)
        self.port = None
        self.proc = None
        self._home = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self._home = Path(tempfile.mkdtemp(prefix="lab-"))
        settings = self._home / "settings"
        for plugin, values in SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {**os.environ, **self.extra_env}
        if (SERVER_CONFIG / "jupyter_server_config.py").is_file():  # the course's, as `make lab`
            env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
                filter(None, [str(SERVER_CONFIG), env.get("JUPYTER_CONFIG_PATH")]))
        env = {**env,
               "JUPYTERLAB_SETTINGS_DIR": str(settings),
               "JUPYTERLAB_WORKSPACES_DIR": str(self._home / "workspaces"),
               "JUPYTER_RUNTIME_DIR": str(self._home / "runtime"),
               "IPYTHONDIR": str(self._home / "ipython"),
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        env.pop("MPLBACKEND", None)  # the student's kernel chooses its backend (%matplotlib)
        last_error = None
        for _ in range(4):  # a port taken between choosing and binding: try another
            self.port = _free_port()
            self.log_path = self._home / f"lab-{self.port}.log"
            args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                    f"--port={self.port}", "--ServerApp.port_retries=0",
                    f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.root_dir={self.root_dir}",
                    "--LabApp.expose_app_in_browser=True",
                    "--ServerApp.open_browser=False"]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                args.append("--allow-root")
            with open(self.log_path, "w") as log:
                self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True,
                                             cwd=self.root_dir)
            try:
                self._wait_ready()
                return
            except RuntimeError as error:
                last_error = error
                self.stop(quiet=True)
        raise RuntimeError(f"JupyterLab did not start: {last_error}")

    def _wait_ready(self):
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with {self.proc.returncode}:\n{self.log()[-2000:]}")
            try:
                self.api("GET", "/api/status", timeout=2)
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError(f"no answer in {self.startup_timeout} s:\n{self.log()[-2000:]}")

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    def stop(self, quiet=False):
        """Shut the kernels and the server down; kill whatever is left, by process id."""
        if self.proc is None:
            return
        pids = set(_children(self.proc.pid))
        if self.proc.poll() is None:
            try:
                for kernel in self.api("GET", "/api/kernels", timeout=5):
                    self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=10)
                self.api("POST", "/api/shutdown", timeout=5)
            except (OSError, urllib.error.URLError, ValueError):
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _kill([self.proc.pid], signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    _kill([self.proc.pid], signal.SIGKILL)
                    self.proc.wait(timeout=5)
        _kill(sorted(pids | set(_children(self.proc.pid))), signal.SIGKILL)  # orphaned kernels
        self.proc = None
        if not quiet and self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)

    # -- REST ------------------------------------------------------------------------------------
    def api(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    def url(self, path=None):
        """A page of JupyterLab in a workspace of its own (nothing restored from another page;
        no ``?reset``, which JupyterLab would apply again on the next in-page link)."""
        self._workspaces = getattr(self, "_workspaces", 0) + 1
        tree = f"/tree/{path}" if path else ""
        return (f"http://127.0.0.1:{self.port}/lab/workspaces/page{self._workspaces}{tree}"
                f"?token={self.token}")

    def open(self, browser, path, **kwargs):
        """Open the notebook at ``path`` (relative to root_dir) in a new page; wait for its
        kernel."""
        return Notebook(self, browser.new_page(), path, **kwargs)


class Browser:
    """Headless Chromium through Playwright (never Playwright's own browser download)."""

    def __init__(self, viewport=(1600, 1000)):
        self.viewport = viewport
        self._playwright = None
        self.browser = None

    def __enter__(self):
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self.browser = self._playwright.chromium.launch(
                executable_path=chromium_executable(), headless=True, args=CHROMIUM_FLAGS,
                timeout=60_000)
        except Exception:
            self._playwright.stop()
            raise
        return self

    def __exit__(self, *exc):
        try:
            if self.browser is not None:
                self.browser.close()
        finally:
            self._playwright.stop()

    def new_page(self):
        context = self.browser.new_context(viewport={"width": self.viewport[0],
                                                     "height": self.viewport[1]})
        context.add_init_script(PAGE_HOOKS)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.console_errors = []
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        return page


# JavaScript run in the page through JupyterLab's application object (exposed on purpose with
# --LabApp.expose_app_in_browser): the notebook's cells as the model sees them.
CONTROLS = ".noUi-handle, select, .widget-toggle-button"
PLOTS = ".course-figure"
_CELLS_JS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    const outputs = model.type === 'code' ? model.outputs.toJSON() : [];
    return {
      index, type: model.type, id: model.id,
      nbgrader: model.getMetadata('nbgrader') || {},
      executionCount: model.type === 'code' ? model.executionCount : null,
      prompt: cell.node.querySelector('.jp-InputPrompt')?.textContent || '',
      errors: outputs.filter(o => o.output_type === 'error')
                     .map(o => ({ename: o.ename, evalue: o.evalue})),
      widgets: outputs.map((o, j) => [j, o.data?.['application/vnd.jupyter.widget-view+json']])
                      .filter(([j, v]) => v).map(([j, v]) => ({output: j, model_id: v.model_id})),
      source: model.sharedModel.getSource(),
      timing: model.getMetadata('execution') || null,
    };
  });
}
"""
_SELECT_JS = """
([i, force]) => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const focused = nb.node.contains(document.activeElement)
                  && !document.activeElement.closest('.jp-OutputArea');
  if (force || nb.activeCellIndex !== i || nb.mode !== 'command' || !focused) {
    nb.mode = 'command'; nb.activeCellIndex = i; nb.deselectAll(); nb.node.focus();
  }
  const model = nb.widgets[i].model;
  return [model.type, model.type === 'code' ? model.executionCount : null];
}
"""
_RAN_JS = """
([i, before]) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[i];
  const count = cell.model.executionCount;
  return count !== null && count !== before
         && /\\[\\d+\\]/.test(cell.node.querySelector('.jp-InputPrompt').textContent);
}
"""
_CELL_WIDGETS_JS = """
(i) => {
  const model = window.jupyterapp.shell.currentWidget.content.widgets[i].model;
  if (model.type !== 'code') return 0;
  return model.outputs.toJSON().filter(
    o => o.data && o.data['application/vnd.jupyter.widget-view+json']).length;
}
"""
_EXECUTE_JS = """
async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let text = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') text += msg.content.text;
    if (msg.header.msg_type === 'error') text += msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  return text;
}
"""


FLOOR_CODE = """\
import ipywidgets as widgets


def latency_floor():
    slider = widgets.IntSlider(value=50, min=0, max=100, description="floor")
    label = widgets.Label("50").add_class("latency-label")
    slider.observe(lambda change: setattr(label, "value", str(change["new"])), names="value")
    return widgets.VBox([slider, label])


latency_floor()
"""
# Each floor keeps its own label (a closure): several floors in one notebook stay apart.


class Notebook:
    """One notebook open in a JupyterLab page, its kernel started and idle."""

    def __init__(self, lab, page, path=None, timeout=90):
        """Open ``path`` in ``page``; with no path, take the notebook ``page`` shows now."""
        self.lab, self.page, self.path = lab, page, path
        self.timeout_ms = timeout * 1000
        start = time.perf_counter()
        if path is not None:
            page.goto(lab.url(path), wait_until="domcontentloaded", timeout=self.timeout_ms)
        page.wait_for_function(
            "() => window.jupyterapp?.shell?.currentWidget?.content?.widgets?.length > 0",
            timeout=self.timeout_ms)
        self.opened_s = time.perf_counter() - start
        self.wait_idle()
        self.kernel_ready_s = time.perf_counter() - start

    # -- state -----------------------------------------------------------------------------------
    def wait_idle(self, timeout=None):
        """Wait until the kernel reports idle (status bar "Idle")."""
        self.page.wait_for_function(
            "() => window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel"
            "?.status === 'idle'", timeout=timeout or self.timeout_ms, polling=50)

    def cells(self):
        return self.page.evaluate(_CELLS_JS)

    def execute_hidden(self, code):
        """Run ``code`` in the notebook's kernel without touching the notebook; its printed text."""
        return self.page.evaluate(_EXECUTE_JS, code)

    def cell_node(self, index):
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    # -- running ---------------------------------------------------------------------------------
    def select_cell(self, index):
        """Select cell ``index`` in command mode; return its type and execution count."""
        return self.page.evaluate(_SELECT_JS, [index, True])

    def run_cell(self, index, timeout=None, force_select=True):
        """Select cell ``index``, press Shift-Enter as a student does, wait for its result.

        Without ``force_select`` the cell is selected only if it is not already the active
        one with the keyboard in the notebook (after a Shift-Enter it is: JupyterLab moves on).
        """
        kind, before = self.page.evaluate(_SELECT_JS, [index, force_select])
        self.page.keyboard.press("Shift+Enter")
        if kind != "code":
            return
        self.page.wait_for_function(_RAN_JS, arg=[index, before],
                                    timeout=timeout or self.timeout_ms, polling=10)

    def insert_cell_below(self, index, source):
        """Insert a code cell holding ``source`` below cell ``index`` (through JupyterLab's
        own command, as a student would) and run it; return the new cell's index."""
        self.page.evaluate(_SELECT_JS, [index, True])
        self.page.evaluate("""(source) => {
            const app = window.jupyterapp;
            return app.commands.execute('notebook:insert-cell-below').then(() => {
              const nb = app.shell.currentWidget.content;
              nb.activeCell.model.sharedModel.setSource(source);
            });
        }""", source)
        self.run_cell(index + 1)
        return index + 1

    def cell_widgets(self, index):
        """How many widgets cell ``index`` displays."""
        return self.page.evaluate(_CELL_WIDGETS_JS, index)

    def run_all(self, after_cell=None, timeout=None):
        """Run every cell from the top, in order, whatever errors; return seconds taken.

        JupyterLab's "Run All" stops at the first error (an unanswered exercise), so this runs
        cell by cell, as a student pressing Shift-Enter through the notebook does.
        ``after_cell(index)`` is called after each cell has finished; ``timeout`` (ms) is how
        long a cell may run.
        """
        start = time.perf_counter()
        for index in range(len(self.cells())):
            self.run_cell(index, timeout=timeout, force_select=index == 0)
            if after_cell is not None:
                after_cell(index)
        self.wait_idle()
        return time.perf_counter() - start

    # -- what a student sees -----------------------------------------------------------------
    def errors_outside_exercises(self):
        """[(cell index, cell id, 'Ename: evalue')] for errors in cells that are not exercises."""
        found = []
        for cell in self.cells():
            meta = cell["nbgrader"]
            for error in cell["errors"]:
                if not (meta.get("solution") or meta.get("grade")):
                    found.append((cell["index"], cell["id"],
                                  f"{error['ename']}: {error['evalue']}"))
        return found

    def widget_display_errors(self):
        return self.page.locator("text=Error displaying widget").count()

    def explorers(self, cell=None):
        """Every displayed widget with a plot and a control: [{cell, output, model_id}], in
        notebook order (only those of cell number ``cell`` if given)."""
        cells = self.cells()
        found = []
        for info in cells if cell is None else [cells[cell]]:
            for widget in info["widgets"]:
                root = self.output_node(info["index"], widget["output"])
                if root.locator(CONTROLS).count() and root.locator(PLOTS).count():
                    found.append({"cell": info["index"], **widget})
        return found

    def widgets(self):
        """Every displayed widget: [{cell, output, model_id}]."""
        return [{"cell": cell["index"], **widget} for cell in self.cells()
                for widget in cell["widgets"]]

    def output_node(self, cell_index, output_index):
        return (self.cell_node(cell_index)
                .locator(".jp-Cell-outputArea > .jp-OutputArea-child").nth(output_index))

    def wait_rendered(self, explorer, timeout=None):
        """Wait until the explorer's figure is on screen: its background picture decoded."""
        node = self.output_node(explorer["cell"], explorer["output"])
        node.scroll_into_view_if_needed()
        node.locator(".course-figure img").first.wait_for(
            state="visible", timeout=timeout or self.timeout_ms)
        self.page.wait_for_function(
            "(el) => { const img = el.querySelector('.course-figure img');"
            " return img && img.complete && img.naturalWidth > 0; }",
            arg=node.element_handle(), timeout=timeout or self.timeout_ms, polling=20)

    def main_control(self, explorer):
        """The explorer's first slider handle, else its first dropdown, else its toggle buttons."""
        node = self.output_node(explorer["cell"], explorer["output"])
        for selector in (".noUi-handle", "select", ".widget-toggle-buttons"):
            control = node.locator(selector)
            if control.count():
                return control.first
        return None

    def figure_fingerprint(self, explorer):
        """The explorer's figure as the screen shows it (PNG bytes of a screenshot)."""
        node = self.output_node(explorer["cell"], explorer["output"])
        return node.locator(".course-figure").screenshot(animations="disabled")

    def kernel_figure(self, explorer):
        """The explorer's figure drawn whole by Agg in the kernel (PNG bytes): what its layers
        must add up to on screen."""
        import base64

        code = ("import base64 as _b, utils.explorers.widgets as _w\n"
                f"_e = [e for e in _w.live_explorers() if e.widget.model_id == {explorer['model_id']!r}]\n"
                "print(_b.b64encode(_e[0].png()).decode() if _e else '')")
        return base64.b64decode(self.execute_hidden(code).strip())

    def error_text_in(self, explorer):
        """Text of any error shown inside the explorer's widget (its error area)."""
        node = self.output_node(explorer["cell"], explorer["output"])
        return "\n".join(node.locator(".widget-output .jp-OutputArea-output").all_inner_texts())

    def press(self, explorer, key=None, timeout=10_000, settle_ms=80):
        """Press an arrow key on the explorer's main control; return the latency in ms.

        The latency runs from the key going down to the figure fully redrawn: the last of its
        layers that changed (SVG markup replaced, a picture inserted already loaded, or else
        decoded: its load event), once the kernel is idle
        and nothing more arrived for ``settle_ms``. For a control without a figure (the floor),
        to its text label changing. Returns None if nothing changed within ``timeout`` ms.
        """
        control = self.main_control(explorer)
        node = self.output_node(explorer["cell"], explorer["output"])
        if key is None:
            key = self._direction(control)
        target = node.element_handle()
        self.page.evaluate("""(el) => {
            const figure = el.querySelector('.course-figure');
            if (figure) { window.__armFigure(figure); return; }
            const label = el.querySelector('.latency-label');
            window.__changed = null;
            if (window.__observer) window.__observer.disconnect();
            window.__observer = new MutationObserver(() => {
              if (window.__changed === null) window.__changed = performance.now(); });
            window.__observer.observe(label, {childList: true, characterData: true, subtree: true});
        }""", target)
        if key == "click":  # toggle buttons: choose one that is not selected
            control.locator(".widget-toggle-button:not(.mod-active)").first.click()
        else:
            control.press(key)
        try:
            self.page.wait_for_function("""(el) => {
                const figure = el.querySelector('.course-figure');
                return figure ? figure.__changes.length > 0 : window.__changed !== null;
            }""", arg=target, timeout=timeout, polling="raf")
        except Exception:
            return None
        self.wait_idle()
        last = None
        while True:  # until no layer changed for settle_ms (an image may still be decoding)
            self.page.wait_for_timeout(settle_ms)
            now = self.page.evaluate("""(el) => {
                const figure = el.querySelector('.course-figure');
                return figure ? figure.__changes.length : -1; }""", target)
            if now == last:
                break
            last = now
        return self.page.evaluate("""(el) => {
            const figure = el.querySelector('.course-figure');
            const at = figure ? Math.max(...figure.__changes) : window.__changed;
            return at - window.__lastInput;
        }""", target)

    def _direction(self, control):
        """ArrowRight unless the slider is at its maximum (then ArrowLeft); dropdowns go down;
        toggle buttons are clicked."""
        if "widget-toggle-buttons" in (control.get_attribute("class") or ""):
            return "click"
        if control.evaluate("el => el.tagName") == "SELECT":
            at_end = control.evaluate("el => el.selectedIndex >= el.options.length - 1")
            return "ArrowUp" if at_end else "ArrowDown"
        now = control.get_attribute("aria-valuenow")
        high = control.get_attribute("aria-valuemax")
        if now is None or high is None:
            return "ArrowRight"
        return "ArrowLeft" if float(now) >= float(high) else "ArrowRight"

    def latency(self, explorer, presses=15, settle_ms=120, before_each=None):
        """Latencies (ms) of ``presses`` key presses stepping the main control one way (back
        at the end of its range), as a student steps a slider.

        Between presses the kernel is allowed to go idle and the last frame to land, so each
        press is measured alone. ``before_each()`` is called before each press.
        """
        control = self.main_control(explorer)
        control.scroll_into_view_if_needed()
        times = []
        for _ in range(presses):
            if before_each is not None:
                before_each()
                self.wait_idle()
            times.append(self.press(explorer, self._direction(control)))
            self.wait_idle()
            self.page.wait_for_timeout(settle_ms)
        return times

    # -- evidence --------------------------------------------------------------------------------
    def screenshot(self, path, explorer=None):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if explorer is None:
            self.page.screenshot(path=str(path))
        else:
            node = self.output_node(explorer["cell"], explorer["output"])
            node.scroll_into_view_if_needed()
            node.screenshot(path=str(path))
        return path

    def close(self):
        """Close the page and shut its kernel down (the next notebook gets the CPU).

        A notebook taken from a page we did not open is left as it is: the page is the
        caller's, and its kernel goes when the server stops.
        """
        if self.path is None:
            return
        try:
            kernel = self.page.evaluate(
                "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id")
        except Exception:
            kernel = None
        try:
            if len(self.page.context.pages) > 1:
                self.page.close()
            else:
                self.page.context.close()
        finally:
            if kernel:
                try:
                    self.lab.api("DELETE", f"/api/kernels/{kernel}")
                except (OSError, urllib.error.URLError):
                    pass
