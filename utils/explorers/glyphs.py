"""Text for the moving layer, fast: Agg's measure of a string and its layout as glyph outlines.

A move draws mostly new strings (a title with the slider's value in it). Laying one out
through FreeType costs about a millisecond (shaping, then loading every glyph, hinted for
Agg's measure, unhinted for the outlines). Both come here from what a font does with each
character alone and with each pair of neighbours, kept across moves: the pen moves from one
character to the next by the pair's advance (kerning included), and a line's box is the
pens' span and its characters' boxes. That is all shaping does to Latin text but ligatures
("fi" drawn as one glyph), which show as a pair shaped into one glyph: strings with such a
pair, non-ASCII strings and math go through FreeType whole, as matplotlib lays them out.
tests/test_svg.py checks both against FreeType's whole-string layout on random strings.
"""
from functools import lru_cache

from matplotlib.backends.backend_agg import RendererAgg, get_hinting_flag
from matplotlib.font_manager import findfont, get_font
from matplotlib.path import Path
from matplotlib.textpath import text_to_path

OUTLINES = {}  # glyph id -> its outline as SVG path data, in FreeType's 1/64 units
_PATH_LETTERS = {Path.MOVETO: "M", Path.LINETO: "L", Path.CURVE3: "Q", Path.CURVE4: "C",
                 Path.CLOSEPOLY: "z"}


def _by_pairs(s, alone, step):
    """``[(alone(c), pen)]`` for the characters of ``s``, each pen ``step(a, b)`` past the
    one before; None where a pair is shaped into one glyph (or ``s`` is not plain ASCII)."""
    if not (s.isascii() and s.isprintable()):
        return None
    placed, pen = [], 0.0
    for i, c in enumerate(s):
        if i:
            advance = step(s[i - 1], c)
            if advance is None:
                return None
            pen += advance
        placed.append((alone(c), pen))
    return placed


# -- Agg's measure -------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def agg_measure(s, prop, ismath, dpi):
    """Agg's ``(width, height, descent)`` of ``s`` at ``dpi``, in pixels, as
    ``RendererAgg.get_text_width_height_descent`` gives it: the pen's span to the last
    character's advance, from the highest glyph top to the lowest glyph bottom."""
    placed = None if ismath or not s else _by_pairs(
        s, lambda c: _agg_alone(c, prop, dpi), lambda a, b: _agg_step(a, b, prop, dpi))
    if placed is None:
        return _agg_whole(s, prop, ismath, dpi)
    ascent = max(height - descent for (_, height, descent), _ in placed)
    descent = max(descent for (_, _, descent), _ in placed)
    (width, _, _), pen = placed[-1]
    return pen + width, ascent + descent, descent


def _agg_whole(s, prop, ismath, dpi):
    return RendererAgg(1, 1, dpi).get_text_width_height_descent(s, prop, ismath)


@lru_cache(maxsize=4096)
def _agg_alone(c, prop, dpi):
    return _agg_whole(c, prop, False, dpi)


@lru_cache(maxsize=16384)
def _agg_step(a, b, prop, dpi):
    """How far Agg's pen moves from ``a`` to ``b`` (hinted, kerned), in pixels."""
    font = get_font(findfont(prop))
    font.set_size(prop.get_size_in_points(), dpi)  # the font object is shared: set each time
    pens = font.set_text(a + b, 0.0, flags=get_hinting_flag())
    return pens[1][0] / 64 if len(pens) == 2 else None


def agg_advance(char, prop, dpi):
    """How far Agg's pen moves over ``char``, in pixels (between bars: bearings cancel; a
    fixed-pitch font has no kerning)."""
    return agg_measure(f"|{char}|", prop, False, dpi)[0] - agg_measure("||", prop, False, dpi)[0]


# -- outlines ------------------------------------------------------------------------------------
@lru_cache(maxsize=8192)
def laid_out(s, prop):
    """Plain text ``s`` laid out at the outlines' scale (``text_to_path.FONT_SCALE``): the
    glyph ids it uses, and its markup, one ``<use>`` per glyph. The outlines of glyphs met for
    the first time go to ``OUTLINES``."""
    placed = _by_pairs(s, lambda c: _outline_alone(c, prop), lambda a, b: _outline_step(a, b, prop))
    placed = (_outlines_whole(s, prop) if placed is None
              else [(glyph, x, 0.0) for glyph, x in placed])
    uses = "".join(f'<use xlink:href="#{glyph_id(glyph)}" '
                   f'transform="translate({num(x)} {num(y)})"/>' for glyph, x, y in placed)
    return tuple(dict.fromkeys(glyph for glyph, *_ in placed)), uses


def _outlines_whole(s, prop):
    """``[(glyph, x, y)]`` of ``s`` as matplotlib lays it out for ``svg.fonttype = "path"``."""
    font = get_font(findfont(prop))
    font.set_size(text_to_path.FONT_SCALE, text_to_path.DPI)  # shared with Agg: set each time
    placed, new, _ = text_to_path.get_glyphs_with_font(font, s, glyph_map=OUTLINES,
                                                      return_new_glyphs_only=True)
    for glyph, (vertices, codes) in new.items():
        OUTLINES[glyph] = _path_data(Path(vertices * 64, codes))
    return [(glyph, x, y) for glyph, x, y, _ in placed]


@lru_cache(maxsize=4096)
def _outline_alone(c, prop):
    (glyph, _, _), = _outlines_whole(c, prop)
    return glyph


@lru_cache(maxsize=16384)
def _outline_step(a, b, prop):
    placed = _outlines_whole(a + b, prop)
    return placed[1][1] - placed[0][1] if len(placed) == 2 else None


def ascii_glyphs(props):
    """The glyphs of printable ASCII in the fonts ``props`` (FontProperties): what moving
    texts write most, so their outlines are worth defining once in the page."""
    fonts = {prop.copy() for prop in props}  # a copy: a cache key must not change later
    return {glyph for prop in fonts for c in map(chr, range(32, 127))
            for glyph in laid_out(c, prop)[0]}


def outline_defs(glyphs):
    """The glyphs' outlines as ``<path>``s for ``<use>``s to place (in FreeType's 1/64 units,
    as matplotlib writes them)."""
    return "".join(f'<path id="{glyph_id(g)}" d="{OUTLINES[g]}" transform="scale(0.015625)"/>'
                   for g in sorted(glyphs))


def glyph_id(glyph):
    """A glyph's id in the page: matplotlib's (font and glyph, URL-quoted), without "%"."""
    return glyph.replace("%", "_")


def num(value):
    """A number as matplotlib's SVG writes one: six decimals at most, no trailing zeros."""
    return f"{value:f}".rstrip("0").rstrip(".")


def _path_data(path):
    """A path as SVG path data (``d``), its curves kept."""
    parts = []
    for points, code in path.iter_segments(simplify=False, curves=True):
        points = "" if code == Path.CLOSEPOLY else " ".join(map(num, points))
        parts.append(f"{_PATH_LETTERS[code]} {points}".rstrip())
    return " ".join(parts)
