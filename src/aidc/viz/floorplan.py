"""Draw a datacenter: a floor plan of racks coloured by power density and the elevation of each rack kind.

`viz` sits beside `core` (it imports only `core`) so that `core` stays free of I/O and plotting.
"""

from __future__ import annotations

import math
from pathlib import Path

from aidc.core.inventory import Datacenter, Rack

MAX_ELEVATIONS = 4
LABEL_RACKS_UP_TO = 60  # per room; above this, names would overlap


def _rack_kind(rack: Rack) -> tuple[tuple[str, int], ...]:
    """Racks with the same node layout share one elevation drawing."""
    return tuple((n.template, n.height_u) for n in rack.nodes)


def _rows(dc: Datacenter, room: str) -> list[str]:
    return sorted({r.row for r in dc.racks if r.room == room})


def _rack_label(rack: Rack) -> str:
    tail = rack.name.rsplit("-", 1)[-1]
    return tail if tail.isdigit() or len(rack.name) > 8 else rack.name


def _tenant_colors(dc: Datacenter) -> dict[str, str]:
    """A colour per tenant owning racks, for the strip under each rack (empty past 20 tenants)."""
    tenants = sorted({n.tenant for n in dc.nodes if n.tenant})
    if len(tenants) > 20:
        return {}
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab20")
    return {t: cmap(i % 20) for i, t in enumerate(tenants)}


def _draw_room(ax, dc: Datacenter, room: str, norm, cmap, tenant_colors: dict) -> None:  # noqa: ANN001
    from matplotlib.patches import Rectangle

    racks = [r for r in dc.racks if r.room == room]
    rows = _rows(dc, room)
    width = max((r.position for r in racks), default=0) + 1
    for rack in racks:
        y = rows.index(rack.row) * 2.0  # an aisle between rows
        ax.add_patch(Rectangle((rack.position, y), 0.9, 0.9, facecolor=cmap(norm(rack.max_power_kw)),
                               edgecolor="black", linewidth=0.5))
        owner = rack.nodes[0].tenant if rack.nodes else None
        if owner in tenant_colors:
            ax.add_patch(Rectangle((rack.position, y + 0.95), 0.9, 0.25, facecolor=tenant_colors[owner], linewidth=0))
        if len(racks) <= LABEL_RACKS_UP_TO:
            label = _rack_label(rack)
            ax.text(rack.position + 0.45, y + 0.45, label, ha="center", va="center",
                    fontsize=8 if len(racks) <= 12 else 5,
                    rotation=90 if len(label) > 3 else 0)
    ax.set_xlim(-0.5, width + 0.4)
    ax.set_ylim(len(rows) * 2.0 - 0.6, -0.5)
    ax.set_yticks([i * 2.0 + 0.45 for i in range(len(rows))], [f"row {r}" for r in rows], fontsize=7)
    ax.set_xticks([])
    ax.set_aspect("equal")
    gpus = sum(r.gpus for r in racks)
    ax.set_title(f"{room}: {len(racks)} racks, {gpus:,} GPUs", fontsize=9)


def _draw_elevation(ax, rack: Rack, count: int) -> None:  # noqa: ANN001
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((0, 0), 1, rack.height_u, facecolor="#f4f4f4", edgecolor="black"))
    palette = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
    templates = sorted({n.template for n in rack.nodes})
    for node in rack.nodes:
        color = palette[templates.index(node.template) % len(palette)]
        ax.add_patch(Rectangle((0.05, node.slot_u - 1), 0.9, node.height_u - 0.15, facecolor=color, edgecolor="black",
                               linewidth=0.4))
        label = f"{node.template}" + (f" {node.gpus}x{node.gpu_model}" if node.gpus else "")
        if node.height_u >= 2:
            ax.text(0.5, node.slot_u - 1 + node.height_u / 2, label, ha="center", va="center", fontsize=5, color="white")
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(0, rack.height_u)
    ax.set_xticks([])
    ax.set_ylabel("U", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_title(f"{rack.name} (x{count})\n{rack.max_power_kw:.1f}/{rack.power_budget_kw:g} kW, "
                 f"{rack.used_u}/{rack.height_u}U, {rack.cooling_type}", fontsize=7)


def draw_datacenter(dc: Datacenter, out: str | Path, dpi: int = 150) -> Path:
    """Write a PNG or SVG (by suffix) with the floor plan and rack elevations; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    rooms = [r.name for r in dc.spec.site.rooms]
    kinds: dict[tuple, list[Rack]] = {}
    for rack in dc.racks:
        kinds.setdefault(_rack_kind(rack), []).append(rack)
    examples = sorted(kinds.values(), key=len, reverse=True)[:MAX_ELEVATIONS]
    cols = min(len(rooms), 2)
    room_rows = math.ceil(len(rooms) / cols)
    fig = plt.figure(figsize=(12, 3.2 * room_rows + 4.2))
    # 8 grid columns: rooms share them evenly, each rack elevation takes 2 (narrow, like a rack)
    grid = fig.add_gridspec(room_rows + 1, 2 * MAX_ELEVATIONS, height_ratios=[1.0] * room_rows + [1.3])
    norm = Normalize(vmin=0, vmax=max((r.max_power_kw for r in dc.racks), default=1.0))
    cmap = plt.get_cmap("YlOrRd")
    tenant_colors = _tenant_colors(dc)
    span = 2 * MAX_ELEVATIONS // cols
    for i, room in enumerate(rooms):
        ax = fig.add_subplot(grid[i // cols, (i % cols) * span:(i % cols + 1) * span])
        _draw_room(ax, dc, room, norm, cmap, tenant_colors)
    room_axes = list(fig.axes)
    for j, group in enumerate(examples):
        ax = fig.add_subplot(grid[room_rows, j * 2:(j + 1) * 2])
        _draw_elevation(ax, group[0], len(group))
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=room_axes, shrink=0.8, label="rack kW at node max")
    if tenant_colors:
        from matplotlib.patches import Patch

        handles = [Patch(color=c, label=t) for t, c in tenant_colors.items()]
        fig.legend(handles=handles, title="tenant (strip under rack)", loc="lower right", fontsize=7,
                   title_fontsize=7, ncol=2 if len(handles) > 6 else 1)
    fig.suptitle(f"{dc.name}: {dc.total_gpus:,} GPUs in {len(dc.racks)} racks", fontsize=12)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
