#!/usr/bin/env python3
"""Plots resident memory over time from `hearingai --memory-trace` files as an SVG.

Usage: plot-memory.py OUT.svg TRACE.tsv...

Each trace is a line; its limit (if any) is a dashed line of the same colour. Standard library
only, so it runs wherever the benchmarks do.
"""
import csv
import sys

COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#7f7f7f", "#9467bd"]
W, H, L, R, T, B = 900, 420, 70, 180, 30, 50


def load(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    points = [(float(r["seconds"]), float(r["rss_mb"])) for r in rows]
    limit = rows[0]["limit_mb"] if rows and rows[0]["limit_mb"] else None
    return points, (float(limit) if limit else None)


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    series = [load(p) for p in paths]
    max_t = max((p[-1][0] for p, _ in series if p), default=1)
    max_y = max([m for p, _ in series for _, m in p] + [l or 0 for _, l in series]) * 1.1
    x = lambda t: L + (W - L - R) * t / max_t
    y = lambda m: H - B - (H - T - B) * m / max_y
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{L}" y="18" font-size="14">Resident memory over time, ~25-minute file, --max-workers 2</text>',
           f'<line x1="{L}" y1="{H-B}" x2="{W-R}" y2="{H-B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H-B}" stroke="black"/>',
           f'<text x="{(W-R+L)/2}" y="{H-12}" text-anchor="middle">seconds</text>',
           f'<text x="16" y="{(H-B+T)/2}" transform="rotate(-90 16 {(H-B+T)/2})" text-anchor="middle">RSS (MB)</text>']
    for i in range(6):
        m = max_y * i / 5
        svg.append(f'<text x="{L-6}" y="{y(m)+4}" text-anchor="end">{m:.0f}</text>')
        svg.append(f'<line x1="{L}" y1="{y(m)}" x2="{W-R}" y2="{y(m)}" stroke="#eee"/>')
        t = max_t * i / 5
        svg.append(f'<text x="{x(t)}" y="{H-B+16}" text-anchor="middle">{t:.0f}</text>')
    for n, (points, limit) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        name = f"limit {limit:.0f} MB" if limit else "no limit"
        pts = " ".join(f"{x(t):.1f},{y(m):.1f}" for t, m in points)
        svg.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        if limit:
            svg.append(f'<line x1="{L}" y1="{y(limit)}" x2="{W-R}" y2="{y(limit)}" stroke="{colour}" stroke-dasharray="6,4"/>')
        peak = max((m for _, m in points), default=0)
        svg.append(f'<line x1="{W-R+10}" y1="{T+20*n+6}" x2="{W-R+30}" y2="{T+20*n+6}" stroke="{colour}" stroke-width="2"/>')
        svg.append(f'<text x="{W-R+36}" y="{T+20*n+10}">{name}, peak {peak:.0f}</text>')
    svg.append("</svg>")
    open(out, "w").write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
