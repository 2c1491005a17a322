"""The instrument toolbox [政策工具箱] (MODEL.md 4.4, seed paper).

Each instrument is one registry entry: id, category, the *channel* through
which it acts, which firms it targets, and bilingual labels.  Its size at
strength 1 is the parameter ``instrument.<id>.full``; packages set strengths
in [0, 1].  Control instruments are scaled by the city's enforcement capacity.

Channels (implemented once, in :func:`city_levers`):

* ``approval_room``  project carbon assessment: at strength s projects may take
                     ``full * (2 - s)`` of the city's remaining room
* ``approval_block`` share of high-carbon proposals blocked (regional restriction)
* ``replacement``    outdated emissions retired per unit of approved new emissions
* ``phase_out``      share of outdated capacity closed per year
* ``restriction``    output share withheld from targeted firms this quarter
* ``fiscal_share``   share of abatement cost paid by the city (fiscal cost)
* ``cost_share``     share of abatement cost removed without fiscal cost (finance)
* ``price``          CNY/t surcharge on the target group (revenue to the city)
* ``pressure``       CNY/t-equivalent information pressure on the target group

A new instrument is one more entry here using an existing channel (e.g. a
second price on ``all`` firms): its ``instrument.<id>.full`` and
``package.<key>.<id>`` parameters (strength 0 by default, so it is off until a
scenario's package switches it on) are generated from the entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TARGETS = ("all", "targeted", "outdated")


@dataclass(frozen=True)
class Instrument:
    id: str
    category: str  # control | economic | information
    channel: str
    target: str  # all | targeted | outdated (for price / pressure)
    label_en: str
    label_zh: str
    full: float  # default size of the effect at strength 1 (parameter instrument.<id>.full)
    unit: str
    high: float  # upper bound of instrument.<id>.full
    meaning: str  # what the full effect is


INSTRUMENTS: dict[str, Instrument] = {
    i.id: i
    for i in (
        Instrument("project_assessment", "control", "approval_room", "all", "project carbon assessment",
                   "固定资产投资项目碳排放评价", 1.0, "share", 1.0,
                   "share of the city's remaining room projects may take at strength 1 (strength s allows full x (2 - s))"),
        Instrument("regional_restriction", "control", "approval_block", "all", "regional approval restriction",
                   "区域限批", 1.0, "share", 1.0, "share of high-carbon project proposals blocked"),
        Instrument("capacity_replacement", "control", "replacement", "outdated", "capacity replacement",
                   "产能等量/减量置换", 1.5, "ratio", 3.0,
                   "outdated emissions retired per unit of approved new emissions (1 = equal, >1 = reduced replacement)"),
        Instrument("phase_out", "control", "phase_out", "outdated", "phase-out of outdated capacity", "落后产能淘汰",
                   0.15, "share/yr", 1.0, "share of outdated capacity closed per year"),
        Instrument("production_restriction", "control", "restriction", "targeted",
                   "production restriction / orderly power use", "限产、有序用电", 0.10, "share", 0.8,
                   "output share withheld from targeted firms in a quarter"),
        Instrument("abatement_subsidy", "economic", "fiscal_share", "all", "abatement subsidy", "降碳项目资金补助",
                   0.40, "share", 0.9, "share of abatement cost paid by the city (fiscal cost)"),
        Instrument("green_finance", "economic", "cost_share", "all", "green finance", "绿色金融", 0.15, "share", 0.5,
                   "financing discount on abatement cost (no fiscal cost)"),
        Instrument("differentiated_pricing", "economic", "price", "outdated", "differentiated pricing", "差别化价格",
                   40.0, "CNY/t", 2000.0, "surcharge on high-intensity (outdated) firms"),
        Instrument("punitive_pricing", "economic", "price", "targeted", "punitive pricing", "惩罚性价格", 100.0,
                   "CNY/t", 2000.0, "surcharge on targeted firms above their allocation"),
        Instrument("barometer", "information", "pressure", "all", "budget execution barometer", "碳预算执行晴雨表",
                   10.0, "CNY/t", 500.0, "information pressure equivalent on all firms (budget execution barometer)"),
        Instrument("public_naming", "information", "pressure", "targeted", "public naming of progress",
                   "节能降碳成效晾晒/约谈", 40.0, "CNY/t", 500.0,
                   "information pressure equivalent on targeted firms (naming and interviews)"),
        Instrument("green_list", "information", "pressure", "all", "green enterprise list", "绿色企业名单", 5.0,
                   "CNY/t", 500.0, "reputational reward equivalent on all firms (green enterprise list)"),
    )
}  # fmt: skip
INSTRUMENT_IDS: tuple[str, ...] = tuple(INSTRUMENTS)
CONTROL_PENALTY_CHANNELS = ("approval_block", "phase_out", "restriction")


@dataclass
class Levers:
    """What the active packages mean for each city (arrays over cities)."""

    room_share: np.ndarray  # projects may take this share of the room (0 = no assessment)
    assessment: np.ndarray  # bool: carbon assessment active
    block_share: np.ndarray  # share of high-carbon proposals blocked
    replacement_ratio: np.ndarray  # Mt retired per Mt approved (0 = none)
    phase_out_rate: np.ndarray  # share of outdated capacity closed per year
    restriction: np.ndarray  # output share withheld from targeted firms
    fiscal_share: np.ndarray
    cost_share: np.ndarray
    price: dict[str, np.ndarray]  # target group -> CNY/t
    pressure: dict[str, np.ndarray]  # target group -> CNY/t equivalent
    penalty: np.ndarray  # expected-penalty equivalent on targeted firms, CNY/t


def city_levers(
    strength: np.ndarray, enforcement: np.ndarray, full: np.ndarray, penalty_scale: float
) -> Levers:
    """Translate instrument strengths (cities x instruments, in INSTRUMENT_IDS
    order) into channel levels.  Control channels are scaled by enforcement."""
    n = strength.shape[0]
    eff = strength * full[None, :]
    ctrl = np.array([INSTRUMENTS[i].category == "control" for i in INSTRUMENT_IDS])
    eff = np.where(ctrl[None, :], eff * enforcement[:, None], eff)
    zeros = np.zeros(n)
    out = Levers(
        room_share=zeros.copy(), assessment=np.zeros(n, dtype=bool), block_share=zeros.copy(),
        replacement_ratio=zeros.copy(), phase_out_rate=zeros.copy(), restriction=zeros.copy(),
        fiscal_share=zeros.copy(), cost_share=zeros.copy(),
        price={t: zeros.copy() for t in TARGETS}, pressure={t: zeros.copy() for t in TARGETS},
        penalty=zeros.copy(),
    )  # fmt: skip
    pen_strength = zeros.copy()
    for j, iid in enumerate(INSTRUMENT_IDS):
        ins = INSTRUMENTS[iid]
        col = eff[:, j]
        match ins.channel:
            case "approval_room":
                out.assessment |= strength[:, j] > 0
                # strength s > 0: projects may take full * (2 - s) of the room,
                # i.e. exactly `full` at s = 1 and more leniently below
                room = np.where(strength[:, j] > 0, full[j] * (2.0 - strength[:, j]), 0.0)
                out.room_share = np.maximum(out.room_share, room)
            case "approval_block":
                out.block_share = np.maximum(out.block_share, col)
            case "replacement":
                out.replacement_ratio = np.maximum(out.replacement_ratio, col)
            case "phase_out":
                out.phase_out_rate = np.maximum(out.phase_out_rate, col)
            case "restriction":
                out.restriction = np.maximum(out.restriction, col)
            case "fiscal_share":
                out.fiscal_share += col
            case "cost_share":
                out.cost_share += col
            case "price":
                out.price[ins.target] += col
            case "pressure":
                out.pressure[ins.target] += col
            case _:
                raise ValueError(f"instrument {iid}: unknown channel {ins.channel!r}")
        if ins.channel in CONTROL_PENALTY_CHANNELS:
            pen_strength = np.maximum(pen_strength, strength[:, j] * enforcement)
    # expected penalty of active control instruments on targeted firms
    out.penalty = penalty_scale * pen_strength
    total = out.fiscal_share + out.cost_share
    over = total > 0.9
    if over.any():  # the firm always bears at least 10 % of its abatement cost
        scale = np.divide(0.9, total, out=np.ones_like(total), where=over)
        out.fiscal_share = out.fiscal_share * scale
        out.cost_share = out.cost_share * scale
    return out
