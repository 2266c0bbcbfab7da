"""The moving parts of a figure as SVG, for the browser to draw: see :mod:`utils.explorers.widgets`.

:class:`SVGRenderer` is a matplotlib renderer (the ``RendererBase`` API every artist draws
through) that writes SVG elements instead of pixels. An explorer draws only the artists a move
changed with it: a line, markers, bars, an arrow or a title become a few hundred bytes the
browser paints in the same frame as a text label, instead of a re-encoded PNG of the figure.

- Coordinates are the figure's pixels (y flipped: SVG's y runs down), written as integers in
  tenths of a pixel (``viewBox`` is 10x the size), which is both exact enough and fast to format.
- Text is drawn as glyph outlines (as matplotlib's own SVG backend does), so it looks the same
  as in the PNG layers; its layout (sizes, descent) comes from the Agg renderer the rest of the
  figure is drawn with, so it lands on the same pixels.
- What is not supported (hatching, clip paths, Gouraud shading) raises :class:`Unsupported`;
  the explorer then draws that figure with Agg only.
"""
import base64
import os
import struct
import zlib
from functools import lru_cache

import numpy as np
from matplotlib.backend_bases import GraphicsContextBase, RendererBase
from matplotlib.colors import to_hex
from matplotlib.path import Path
from matplotlib.textpath import TextToPath

SCALE = 10  # SVG user units per pixel
_TEXT2PATH = TextToPath()
_CAPS = {"butt": "butt", "round": "round", "projecting": "square"}
_STEPS = {Path.MOVETO: ("M", 1), Path.LINETO: ("L", 1), Path.CURVE3: ("Q", 2),
          Path.CURVE4: ("C", 3)}
_LIMIT = 10**7  # coordinates beyond this many tenths of a pixel are clamped (diverging data)


class Unsupported(Exception):
    """Something this renderer does not draw (the caller falls back to Agg)."""


def png(rgba, level=1):
    """An RGBA uint8 array (H, W, 4) as PNG bytes: no row filters, zlib ``level`` (fast)."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    rows = np.zeros((h, 1 + 4 * w), np.uint8)  # each row: filter type 0, then its pixels
    rows[:, 1:] = rgba.reshape(h, 4 * w)

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + chunk(b"IEND", b""))


def data_url(png_bytes):
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def path_data(vertices, codes):
    """SVG path data (``d``) for integer ``vertices`` (n, 2) with matplotlib ``codes``."""
    xy = vertices.tolist()
    if codes is None or (len(codes) > 1 and codes[0] == Path.MOVETO
                         and (codes[1:] == Path.LINETO).all()):
        flat = [str(v) for point in xy[1:] for v in point]
        return f"M{xy[0][0]} {xy[0][1]}L" + " ".join(flat) if len(xy) > 1 else \
            (f"M{xy[0][0]} {xy[0][1]}" if xy else "")
    parts, i, n = [], 0, len(xy)
    codes = codes.tolist()
    while i < n:
        code = codes[i]
        if code == Path.STOP:
            break
        if code == Path.CLOSEPOLY:
            parts.append("Z")
            i += 1
            continue
        letter, count = _STEPS[code]
        points = xy[i:i + count]
        parts.append(letter + " ".join(f"{x} {y}" for x, y in points))
        i += count
    return "".join(parts)


@lru_cache(maxsize=1024)
def _math_outline(text, prop):
    """Path data of mathtext ``text`` in ``prop``, in TextToPath units (``FONT_SCALE`` per
    point of size), y up."""
    vertices, codes = _TEXT2PATH.get_text_path(prop, text, ismath=True)
    if len(vertices) == 0:
        return ""
    return path_data(np.round(np.asarray(vertices)).astype(np.int64),
                     np.asarray(codes, dtype=np.uint8))


_GLYPH_PATHS = {}  # matplotlib's glyph name -> outline, for TextToPath to skip known glyphs
_GLYPH_IDS = {}  # matplotlib's glyph name -> (SVG id, path data in TextToPath units)
_TOKEN = os.urandom(3).hex()  # glyph ids are global to the page: one token per kernel


def _glyphs(text, prop):
    """[(SVG id, path data, x, y)] for each glyph of ``text`` set in ``prop`` (TextToPath
    units, y up). Outlines are worked out once per glyph; a new title costs its layout only."""
    font = _TEXT2PATH._get_font(prop)
    placed, new, _ = _TEXT2PATH.get_glyphs_with_font(font, text, glyph_map=_GLYPH_PATHS,
                                                      return_new_glyphs_only=True)
    for name, (vertices, codes) in new.items():
        _GLYPH_PATHS[name] = (vertices, codes)
        _GLYPH_IDS[name] = (f"g{_TOKEN}{len(_GLYPH_IDS)}",
                            path_data(np.round(np.asarray(vertices)).astype(np.int64),
                                      np.asarray(codes, dtype=np.uint8))
                            if len(vertices) else "")
    return [(*_GLYPH_IDS[name], x, y) for name, x, y, _ in placed]


class SVGRenderer(RendererBase):
    """Draws artists as SVG elements in the pixel space of ``agg`` (the figure's Agg renderer).

    Use: ``begin()``, then ``artist.draw(renderer)`` for each artist, then ``end()`` for the
    fragment (elements only; :meth:`document` wraps fragments into an ``<svg>``).
    """

    def __init__(self, agg, prefix="s", glyphs=None):
        super().__init__()
        self.agg = agg
        self.width, self.height = agg.get_canvas_width_height()
        self.prefix = prefix  # ids must be unique in the page: one prefix per layer
        # None: glyph outlines go in each fragment; a dict: they are collected there (id ->
        # path data) for the caller to define once in the page (see glyph_defs)
        self.glyphs = glyphs
        self._parts, self._clip, self._ids, self._defined = [], None, 0, set()

    # -- the matplotlib renderer API --------------------------------------------------------
    def begin(self):
        self.width, self.height = self.agg.get_canvas_width_height()
        self._parts, self._clip, self._ids, self._defined = [], None, 0, set()

    def end(self):
        self._set_clip(None)
        return "".join(self._parts)

    def document(self, fragment, z=None):
        """``fragment`` as a complete ``<svg>`` the size of the figure (at CSS ``z-index``
        ``z`` when given)."""
        w, h = self.width, self.height
        place = "display:block" if z is None else f"z-index:{z}"
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:g}" height="{h:g}" '
                f'viewBox="0 0 {round(w * SCALE)} {round(h * SCALE)}" '
                f'style="{place};pointer-events:none">{fragment}</svg>')

    def flipy(self):
        return False  # y arrives up, as for Agg; every primitive below flips it

    def get_canvas_width_height(self):
        return self.agg.get_canvas_width_height()

    def get_text_width_height_descent(self, s, prop, ismath):
        return self.agg.get_text_width_height_descent(s, prop, ismath)

    def points_to_pixels(self, points):
        return self.agg.points_to_pixels(points)

    def option_image_nocomposite(self):
        return True

    def option_scale_image(self):
        return True  # images drawn unsampled come with their transform: sent at data size

    def new_gc(self):
        return GraphicsContextBase()

    def draw_path(self, gc, path, transform, rgbFace=None):
        clip = self._clip_box(gc) if rgbFace is None and path.codes is None else None
        cleaned = path.cleaned(transform=transform, remove_nans=True, clip=clip,
                               simplify=path.should_simplify and rgbFace is None, curves=True)
        if len(cleaned.vertices) < 2:
            return
        d = path_data(self._pixels(cleaned.vertices), cleaned.codes)
        self._emit(gc, f'<path d="{d}"{self._style(gc, rgbFace)}/>')

    def draw_markers(self, gc, marker_path, marker_trans, path, trans, rgbFace=None):
        marker = marker_path.cleaned(transform=marker_trans, curves=True)
        offsets = trans.transform(path.vertices)
        self._draw_uses(gc, marker, offsets, rgbFace)

    def draw_path_collection(self, gc, master_transform, paths, all_transforms, offsets,
                             offset_trans, facecolors, edgecolors, linewidths, linestyles,
                             antialiaseds, urls, offset_position, **kwargs):
        hatch = kwargs.get("hatchcolors")
        simple = (len(paths) == 1 and len(all_transforms) <= 1 and len(facecolors) <= 1
                  and len(edgecolors) <= 1 and len(linewidths) <= 1 and len(linestyles) <= 1
                  and not any(urls) and gc.get_hatch() is None
                  and (hatch is None or len(hatch) == 0) and len(offsets))
        if not simple:  # per-item styles: matplotlib's generic loop over draw_path
            return super().draw_path_collection(
                gc, master_transform, paths, all_transforms, offsets, offset_trans,
                facecolors, edgecolors, linewidths, linestyles, antialiaseds, urls,
                offset_position, **kwargs)
        # as RendererBase._iter_collection_raw_paths: the item's own transform, then the master
        transform = master_transform
        if len(all_transforms):
            transform = _affine(all_transforms[0]) + master_transform
        item = paths[0].cleaned(transform=transform, curves=True)
        gc0 = self.new_gc()
        gc0.copy_properties(gc)
        face = facecolors[0] if len(facecolors) and facecolors[0][3] else None
        edged = len(edgecolors) and edgecolors[0][3] and len(linewidths)
        gc0.set_linewidth(linewidths[0] if edged else 0)  # no visible edge: no stroke
        if edged:
            gc0.set_foreground(edgecolors[0], isRGBA=True)
        if len(linestyles):
            gc0.set_dashes(*linestyles[0])
        self._draw_uses(gc0, item, offset_trans.transform(offsets), face)

    def draw_image(self, gc, x, y, im, transform=None):
        h, w = im.shape[:2]
        if w == 0 or h == 0:
            return
        href = data_url(png(im))
        H = self.height
        if transform is None:  # resampled to pixels, bottom-left at (x, y)
            attrs = (f'x="{round(x * SCALE)}" y="{round((H - y - h) * SCALE)}" '
                     f'width="{w * SCALE}" height="{h * SCALE}"')
        else:  # data-sized image and the affine from its unit square to pixels
            # image pixel (u, v), v down from row 0, is at unit (u/w, v/h) of the transform;
            # then pixels -> SVG units (y flipped). Row 0 lands at the bottom, as drawn by Agg.
            a, b, c, d, e, f = _affine(transform).to_values()
            m = [SCALE * a / w, -SCALE * b / w, SCALE * c / h, -SCALE * d / h,
                 SCALE * (e + x), SCALE * (H - f - y)]
            attrs = (f'width="{w}" height="{h}" preserveAspectRatio="none" '
                     f'transform="matrix({" ".join(f"{v:.6g}" for v in m)})"')
        alpha = gc.get_alpha()
        opacity = f' opacity="{alpha:.3g}"' if alpha is not None and alpha != 1 else ""
        self._emit(gc, f'<image {attrs} href="{href}"{opacity}/>')

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath == "TeX":
            raise Unsupported("usetex text")
        size = self.points_to_pixels(prop.get_size_in_points()) / _TEXT2PATH.FONT_SCALE
        rotate = f" rotate({-angle:.4g})" if angle else ""
        transform = (f"translate({round(x * SCALE)} {round((self.height - y) * SCALE)})"
                     f"{rotate} scale({size * SCALE:.5g} {-size * SCALE:.5g})")
        gc.set_linewidth(0.0)
        style = self._style(gc, gc.get_rgb())
        if ismath:
            d = _math_outline(s, prop)
            if d:
                self._emit(gc, f'<path transform="{transform}" d="{d}"{style}/>')
            return
        # each glyph's outline once per frame (<defs>), then placed with <use>
        parts = []
        for ident, d, gx, gy in _glyphs(s, prop):
            if not d:
                continue  # a space
            if self.glyphs is not None:
                self.glyphs[ident] = d
            elif ident not in self._defined:
                self._defined.add(ident)
                parts.append(f'<defs><path id="{ident}" d="{d}"/></defs>')
            parts.append(f'<use href="#{ident}" x="{round(gx)}" y="{round(gy)}"/>')
        if parts:
            self._emit(gc, f'<g transform="{transform}"{style}>{"".join(parts)}</g>')

    def draw_gouraud_triangles(self, gc, triangles_array, colors_array, transform):
        raise Unsupported("Gouraud shading")

    # -- helpers -----------------------------------------------------------------------------
    def _pixels(self, vertices):
        """Display coordinates (y up) -> integer SVG units (y down), clamped."""
        v = np.empty_like(vertices, dtype=np.float64)
        v[:, 0] = vertices[:, 0] * SCALE
        v[:, 1] = (self.height - vertices[:, 1]) * SCALE
        np.clip(v, -_LIMIT, _LIMIT, out=v)
        return np.rint(v).astype(np.int64)

    def _clip_box(self, gc):
        box = gc.get_clip_rectangle()
        if box is None:
            return (-1.0, -1.0, self.width + 1.0, self.height + 1.0)
        x0, y0, x1, y1 = box.extents
        return (x0 - 1.0, y0 - 1.0, x1 + 1.0, y1 + 1.0)

    def _draw_uses(self, gc, item, offsets, face):
        """The path ``item`` (pixels, about (0, 0)) drawn at every offset (pixels, y up)."""
        offsets = offsets[np.isfinite(offsets).all(axis=1)]
        x0, y0, x1, y1 = self._clip_box(gc)
        pad = 1 + np.abs(item.vertices).max() if len(item.vertices) else 1
        keep = ((offsets[:, 0] > x0 - pad) & (offsets[:, 0] < x1 + pad)
                & (offsets[:, 1] > y0 - pad) & (offsets[:, 1] < y1 + pad))
        offsets = offsets[keep]
        if not len(offsets) or not len(item.vertices):
            return
        at = self._pixels(offsets).tolist()
        radius = _circle_radius(item)
        if radius is not None:  # a <circle> is one element; a <use> clones a tree per dot
            r = f"{radius * SCALE:.4g}"
            dots = "".join(f'<circle cx="{x}" cy="{y}" r="{r}"/>' for x, y in at)
            self._emit(gc, f'<g{self._style(gc, face)}>{dots}</g>')
            return
        shape = item.vertices.copy()
        shape[:, 1] = -shape[:, 1]  # y down, about the marker's own origin
        d = path_data(np.rint(shape * SCALE).astype(np.int64), item.codes)
        self._ids += 1
        ident = f"{self.prefix}m{self._ids}"
        uses = "".join(f'<use href="#{ident}" x="{x}" y="{y}"/>' for x, y in at)
        self._emit(gc, f'<defs><path id="{ident}" d="{d}"/></defs>'
                       f'<g{self._style(gc, face)}>{uses}</g>')

    def _style(self, gc, face):
        if gc.get_hatch() is not None:
            raise Unsupported("hatching")
        forced = gc.get_forced_alpha()
        alpha = gc.get_alpha()
        out = []
        if face is None:
            out.append(' fill="none"')
        else:
            out.append(f' fill="{to_hex(face[:3])}"')
            if len(face) == 4 and face[3] != 1 and not forced:
                out.append(f' fill-opacity="{face[3]:.3g}"')
        if forced and alpha != 1:
            out.append(f' opacity="{alpha:.3g}"')
        width = self.points_to_pixels(gc.get_linewidth())
        if width > 0:
            rgb = gc.get_rgb()
            out.append(f' stroke="{to_hex(rgb[:3])}" stroke-width="{width * SCALE:.4g}"'
                       f' stroke-linejoin="{gc.get_joinstyle()}"'
                       f' stroke-linecap="{_CAPS[gc.get_capstyle()]}"')
            if not forced and len(rgb) == 4 and rgb[3] != 1:
                out.append(f' stroke-opacity="{rgb[3]:.3g}"')
            offset, dashes = gc.get_dashes()
            if dashes is not None and len(dashes):
                scale = self.points_to_pixels(1.0) * SCALE
                out.append(' stroke-dasharray="' + " ".join(f"{v * scale:.4g}" for v in dashes)
                           + f'" stroke-dashoffset="{(offset or 0) * scale:.4g}"')
        return "".join(out)

    def _emit(self, gc, element):
        path, _ = gc.get_clip_path()
        if path is not None:
            raise Unsupported("clip paths")
        self._set_clip(gc.get_clip_rectangle())
        self._parts.append(element)

    def _set_clip(self, box):
        """Elements are clipped by wrapping runs of them in a nested <svg> viewport with the
        same coordinates (no ids needed)."""
        key = None if box is None else tuple(np.round(box.extents, 3))
        if key == self._clip:
            return
        if self._clip is not None:
            self._parts.append("</svg>")
        self._clip = key
        if key is not None:
            x0, y0, x1, y1 = key
            x, y = round(x0 * SCALE), round((self.height - y1) * SCALE)
            w, h = round((x1 - x0) * SCALE), round((y1 - y0) * SCALE)
            self._parts.append(f'<svg x="{x}" y="{y}" width="{w}" height="{h}" '
                               f'viewBox="{x} {y} {w} {h}" overflow="hidden">')


def _circle_radius(path):
    """The radius (pixels) if ``path`` is matplotlib's circle (``Path.unit_circle``, as the
    "o" marker and scatter draw it) scaled evenly about (0, 0); else None."""
    circle = Path.unit_circle()
    if path.codes is None or len(path.codes) != len(circle.codes) + 1 \
            or (path.codes[:-1] != circle.codes).any():
        return None  # cleaned() adds a STOP; anything else is another shape
    vertices = path.vertices[:-2]  # a CLOSEPOLY's vertex means nothing (cleaned() keeps it)
    radius = np.abs(vertices[0, 1])
    if radius == 0 or not np.allclose(vertices, circle.vertices[:-1] * radius,
                                      rtol=0, atol=1e-6 * radius + 1e-9):
        return None
    return float(radius)


def glyph_defs(glyphs):
    """An invisible ``<svg>`` defining glyph outlines (id -> path data) for the whole page."""
    paths = "".join(f'<path id="{ident}" d="{d}"/>' for ident, d in glyphs.items())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0" '
            f'style="position:absolute"><defs>{paths}</defs></svg>')


def _affine(transform):
    from matplotlib.transforms import Affine2D

    if hasattr(transform, "get_matrix"):
        return Affine2D(transform.get_matrix())
    return Affine2D(np.asarray(transform))
