"""Text for the moving layer, fast: Agg's measure of a string and its layout as glyph outlines.

A move draws mostly new strings (a title with the slider's value in it). Laying one out
through FreeType costs about a millisecond (shaping, then loading every glyph, hinted for
Agg's measure, unhinted for the outlines). Both come here from what a font does with each
character alone and with each pair of neighbours, kept across moves: the pen moves from one
character to the next by the pair's advance (kerning included), and a line's box is the
pens' span and its characters' boxes. That is all shaping does to Latin text but ligatures
("fi" drawn as one glyph), which show as a pair shaped into one glyph: such a pair is one
unit, placed as a character is. Scripts whose letters join or combine, math, and ligatures
of a ligature ("ffi") go through FreeType whole, as matplotlib lays them out.
tests/test_svg.py checks both against FreeType's whole-string layout on random strings and
words.
"""
from functools import lru_cache

from matplotlib.backends.backend_agg import RendererAgg, get_hinting_flag
from matplotlib.font_manager import findfont, get_font
from matplotlib.path import Path
from matplotlib.textpath import text_to_path

OUTLINES = {}  # glyph id -> its outline as SVG path data, in FreeType's 1/64 units
# Kept for the process, by unit (a character, or a ligature's two), font (its number in
# _FONTS) and dpi: Agg's measure of a unit, and how far its pen moves from a unit to the next
# (None where the two are shaped into one glyph); a unit's outline and the same step in
# outline units
_AGG_ALONE, _AGG_STEPS, _OUTLINE_ALONE, _OUTLINE_STEPS = {}, {}, {}, {}
_FONTS = {}  # FontProperties -> its number: hashing one costs a microsecond, once a string
_WARM = set()  # (font, dpi, characters) whose pairs were all laid out at once
NUMERALS = "0123456789.,-+%e "  # what numbers in a title are written with
_PATH_LETTERS = {Path.MOVETO: "M", Path.LINETO: "L", Path.CURVE3: "Q", Path.CURVE4: "C",
                 Path.CLOSEPOLY: "z"}


def _by_pairs(s, alone, step):
    """``[(alone(unit), pen)]`` for the units of ``s`` (its characters, but a pair the font
    shapes into one glyph is one unit), each pen ``step(a, b)`` past the one before; None if
    ``s`` holds other than Latin, Greek or Cyrillic letters, punctuation, arithmetic signs
    and arrows, or a unit and the next are shaped into one glyph."""
    if not (s.isprintable() and all(c < "\u0300" or "\u0370" <= c < "\u0530"
                                    or "\u2000" <= c < "\u2300" for c in s)):
        return None  # only alphabets that neither join nor combine, and common signs
    units = []
    for c in s:
        if units and len(units[-1]) == 1 and step(units[-1], c) is None:
            units[-1] += c  # a ligature
        else:
            units.append(c)
    placed, pen = [], 0.0
    for i, unit in enumerate(units):
        if i:
            advance = step(units[i - 1], unit)
            if advance is None:
                return None
            pen += advance
        placed.append((alone(unit), pen))
    return placed


def _step(pens):
    """From the pens of two units laid out together: how far the second is from the first,
    or None if they were shaped into one glyph."""
    return pens[1] - pens[0] if len(pens) == 2 else None


def _font(prop):
    """The number of the font ``prop`` in the caches' keys (the caller keeps ``prop``
    unchanged)."""
    return _FONTS.setdefault(prop, len(_FONTS))


def warm(props, dpi, chars=NUMERALS):
    """Lay out, in one go, every pair of ``chars`` in the fonts ``props`` (FontProperties), for
    Agg at ``dpi`` and for outlines: what a move's new number would lay out pair by pair
    (0.5 ms a new pair); one string holding them all costs 40 ms a font, once."""
    every_pair = "".join(a + b for a in chars for b in chars)
    for prop in {prop.copy() for prop in props}:  # a copy: a cache key must not change later
        font = _font(prop)
        if (font, dpi, chars) in _WARM:
            continue
        _WARM.add((font, dpi, chars))
        for steps, pens, key in (
                (_AGG_STEPS, _agg_pens(every_pair, prop, dpi), (font, dpi)),
                (_OUTLINE_STEPS, [x for _, x, _ in _outlines_whole(every_pair, prop)], (font,))):
            if len(pens) == len(every_pair):  # no ligature among them
                for i in range(len(every_pair) - 1):
                    steps[(every_pair[i], every_pair[i + 1], *key)] = pens[i + 1] - pens[i]


# -- Agg's measure -------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def agg_measure(s, prop, ismath, dpi):
    """Agg's ``(width, height, descent)`` of ``s`` at ``dpi``, in pixels, as
    ``RendererAgg.get_text_width_height_descent`` gives it: the pen's span to the last
    character's advance, from the highest glyph top to the lowest glyph bottom."""
    font = _font(prop)
    placed = None if ismath or not s else _by_pairs(
        s, lambda c: _agg_alone(c, prop, font, dpi),
        lambda a, b: _agg_step(a, b, prop, font, dpi))
    if placed is None:
        return _agg_whole(s, prop, ismath, dpi)
    ascent = max(height - descent for (_, height, descent), _ in placed)
    descent = max(descent for (_, _, descent), _ in placed)
    (width, _, _), pen = placed[-1]
    return pen + width, ascent + descent, descent


def _agg_whole(s, prop, ismath, dpi):
    return RendererAgg(1, 1, dpi).get_text_width_height_descent(s, prop, ismath)


def _agg_alone(c, prop, font, dpi):
    if (c, font, dpi) not in _AGG_ALONE:
        _AGG_ALONE[(c, font, dpi)] = _agg_whole(c, prop, False, dpi)
    return _AGG_ALONE[(c, font, dpi)]


def _agg_step(a, b, prop, font, dpi):
    """How far Agg's pen moves from ``a`` to ``b`` (hinted, kerned), in pixels."""
    key = (a, b, font, dpi)
    if key not in _AGG_STEPS:
        _AGG_STEPS[key] = _step(_agg_pens(a + b, prop, dpi))
    return _AGG_STEPS[key]


def _agg_pens(s, prop, dpi):
    """Where Agg's layout of ``s`` puts each glyph's pen, in pixels."""
    face = get_font(findfont(prop))
    face.set_size(prop.get_size_in_points(), dpi)  # the font object is shared: set each time
    return [x / 64 for x, _ in face.set_text(s, 0.0, flags=get_hinting_flag())]


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
    font = _font(prop)
    placed = _by_pairs(s, lambda c: _outline_alone(c, prop, font),
                       lambda a, b: _outline_step(a, b, prop, font))
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


def _outline_alone(c, prop, font):
    if (c, font) not in _OUTLINE_ALONE:
        (_OUTLINE_ALONE[(c, font)], _, _), = _outlines_whole(c, prop)
    return _OUTLINE_ALONE[(c, font)]


def _outline_step(a, b, prop, font):
    if (a, b, font) not in _OUTLINE_STEPS:
        _OUTLINE_STEPS[(a, b, font)] = _step([x for _, x, _ in _outlines_whole(a + b, prop)])
    return _OUTLINE_STEPS[(a, b, font)]


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
