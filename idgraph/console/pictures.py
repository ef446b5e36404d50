"""Pictures the console draws server-side as SVG, every label escaped: a score's waterfall
and a person's graph."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from idgraph.domain.profile import Profile
from idgraph.domain.scoring import probability

BAR, GAP, LABEL, WIDTH = 18, 6, 230, 420


def waterfall_svg(prior: float, comparisons: Sequence[Mapping[str, Any]], total: float,
                  link: float, review: float) -> Markup:
    """The score as a waterfall: the prior, then each comparison's bits from where the
    previous ended, then the total; the thresholds' weights as lines."""
    steps = [("prior", "", prior)] + [
        (str(c.get("name", "")), str(c.get("level", "")), float(c.get("weight", 0.0)))
        for c in comparisons]

    def bits(p: float) -> float:
        return math.log2(p / (1 - p)) if 0 < p < 1 else 0.0

    running, spans = 0.0, []
    for name, level, weight in steps:
        spans.append((name, level, weight, running, running + weight))
        running += weight
    edges = [0.0, total, bits(link), bits(review)] + [s[3] for s in spans] + \
        [s[4] for s in spans]
    low, high = min(edges), max(edges)
    scale = WIDTH / (high - low or 1.0)

    def x(value: float) -> float:
        return LABEL + (value - low) * scale

    rows = len(spans) + 1
    height = rows * (BAR + GAP) + 30
    parts = [f'<svg class="waterfall" xmlns="http://www.w3.org/2000/svg" '
             f'width="{LABEL + WIDTH + 70}" height="{height}" role="img" '
             'aria-label="score waterfall">']
    for index, (name, level, weight, start, end) in enumerate(spans):
        y = index * (BAR + GAP) + 4
        left, right = sorted((x(start), x(end)))
        kind = "plus" if weight >= 0 else "minus"
        label = f"{name} ({level})" if level else name
        width = max(right - left, 1)
        parts.append(f'<text x="4" y="{y + 13}" class="label">{escape(label)}</text>'
                     f'<rect class="{kind}" x="{left:.1f}" y="{y}" width="{width:.1f}" '
                     f'height="{BAR}"/><text x="{max(right, left) + 4:.1f}" y="{y + 13}" '
                     f'class="bits">{weight:+.1f}</text>')
    y = len(spans) * (BAR + GAP) + 4
    left, right = sorted((x(0.0), x(total)))
    parts.append(f'<text x="4" y="{y + 13}" class="label total">total: {total:.1f} bits, '
                 f'P = {probability(total):.4f}</text><rect class="total" x="{left:.1f}" '
                 f'y="{y}" width="{max(right - left, 1):.1f}" height="{BAR}"/>')
    for name, value in (("link", bits(link)), ("review", bits(review))):
        parts.append(f'<line class="threshold {name}" x1="{x(value):.1f}" x2="{x(value):.1f}" '
                     f'y1="0" y2="{height - 14}"/><text x="{x(value) + 2:.1f}" '
                     f'y="{height - 2}" class="bits">{name}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def person_graph_svg(profile: Profile, size: int = 560) -> Markup:
    """The person in the middle; its records around it; each record's identifiers and
    vehicles further out (a value other people hold too is marked shared); related
    people (households, referrals) at the edge."""
    center = size / 2
    nodes: list[tuple[float, float, str, str, str]] = []  # x, y, class, label, title
    edges: list[tuple[float, float, float, float, str]] = []
    records = list(profile.records)
    ring1, ring2 = size * 0.2, size * 0.38
    identifiers: dict[str, tuple[float, float]] = {}
    shared = {i.key.key for i in profile.identifiers if i.shared or i.holder_count > 1}
    for n, record in enumerate(records):
        angle = 2 * math.pi * n / max(len(records), 1)
        rx, ry = center + ring1 * math.cos(angle), center + ring1 * math.sin(angle)
        edges.append((center, center, rx, ry, "part"))
        nodes.append((rx, ry, "record", record.source,
                      f"{record.source} {record.source_record_id}"))
        outs = [(k.key, k.type, "shared" if k.key in shared else "identifier")
                for k in record.identifiers if not k.is_blocking] + \
            [(f"vin:{v.vin}", v.model or v.vin, "vehicle") for v in record.vehicles if v.vin]
        for m, (key, label, kind) in enumerate(outs):
            if key not in identifiers:
                spread = (m - (len(outs) - 1) / 2) * 0.22
                identifiers[key] = (center + ring2 * math.cos(angle + spread),
                                    center + ring2 * math.sin(angle + spread))
                ix, iy = identifiers[key]
                nodes.append((ix, iy, kind, label, key.split("|")[-1] if kind == "vehicle"
                              else label))
            ix, iy = identifiers[key]
            edges.append((rx, ry, ix, iy, "has"))
    related = list(profile.relationships)
    for n, relation in enumerate(related):
        angle = 2 * math.pi * (n + 0.5) / max(len(related), 1)
        px, py = center + size * 0.47 * math.cos(angle), center + size * 0.47 * math.sin(angle)
        edges.append((center, center, px, py, "related"))
        nodes.append((px, py, "related", relation.type.value.lower(), relation.one_id))
    parts = [f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{size}" '
             f'height="{size}" role="img" aria-label="the person\'s graph">']
    parts += [f'<line class="{kind}" x1="{a:.0f}" y1="{b:.0f}" x2="{c:.0f}" y2="{d:.0f}"/>'
              for a, b, c, d, kind in edges]
    parts.append(f'<circle class="person" cx="{center}" cy="{center}" r="16"/>'
                 f'<text class="node" x="{center}" y="{center + 30}">'
                 f'{escape(profile.one_id[-6:])}</text>')
    for nx, ny, kind, label, title in nodes:
        parts.append(f'<g class="{kind}"><title>{escape(title)}</title>'
                     f'<circle cx="{nx:.0f}" cy="{ny:.0f}" r="9"/>'
                     f'<text class="node" x="{nx:.0f}" y="{ny + 20:.0f}">'
                     f'{escape(label[:18])}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
