"""Lab-report forensics (``LAB-0NN``): date order, Car recomputation, CC vs lab, QR codes, serials, component bands.

One :class:`~checks.spec.RuleSpec` per rule (see :mod:`checks.spec`); they read the ``lab_reports``
frame of :mod:`checks.frames` (LAB-003: the monthly report citing the lab report). Percentages are
``_pct`` (Cad, Mad, Mt, Car); GB/T 476 / 212 / 211 / 213 give the methods' precision (:mod:`checks.params`).
"""

from __future__ import annotations

import polars as pl

from carbonqa.contract import CO2_PER_C
from carbonqa.screening import ScreenContext
from checks.frames import lab_frame
from checks.params import RegulationParams
from checks.spec import RuleSpec, rounded

__all__ = ["LAB_001", "LAB_002", "LAB_003", "LAB_004", "LAB_005", "LAB_006", "SPECS"]

_LAB_ID = {"lab_report_id": pl.col("lab_report_id")}
_CC = pl.col("carbon_content_tc_per_gj")
_CAD, _MAD, _MT = (pl.col(c) for c in ("carbon_ad_pct", "moisture_ad_pct", "total_moisture_pct"))
#: the report's own carbon per unit heat, Car / NCV (tC/GJ)
_LAB_CC = pl.col("carbon_ar_pct") / 100.0 / pl.col("ncv_ar_gj_per_t")


# ---- LAB-006: which component is off its band, and whether that moves emissions ---------------------
def _cad_bad() -> pl.Expr:
    """Cad outside its coal type's band (``cad_lo``/``cad_hi`` of :func:`checks.frames.lab_frame`)."""
    return (_CAD < pl.col("cad_lo")) | (_CAD > pl.col("cad_hi"))


def _mad_bad(p: RegulationParams) -> pl.Expr:
    return (_MAD < p.mad_range_pct[0]) | (_MAD > p.mad_range_pct[1])


def _mt_bad(p: RegulationParams) -> pl.Expr:
    return (_MT < p.mt_range_pct[0]) | (_MT > p.mt_range_pct[1])


def _component(p: RegulationParams) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """``(name, value, low, high)`` of the first component off its band: Cad, else Mad, else Mt."""
    cad_bad, mad_bad = _cad_bad(), _mad_bad(p)
    name = pl.when(cad_bad).then(pl.lit("Cad")).when(mad_bad).then(pl.lit("Mad")).otherwise(pl.lit("Mt"))
    value = pl.when(cad_bad).then(_CAD).when(mad_bad).then(_MAD).otherwise(_MT)
    lo = pl.when(cad_bad).then(pl.col("cad_lo")).when(mad_bad).then(p.mad_range_pct[0]).otherwise(p.mt_range_pct[0])
    hi = pl.when(cad_bad).then(pl.col("cad_hi")).when(mad_bad).then(p.mad_range_pct[1]).otherwise(p.mt_range_pct[1])
    return name, value, lo, hi


def _cc_ordinary(p: RegulationParams) -> pl.Expr:
    """The report's Car / NCV is an ordinary measured CC (within the CC-003 band ± its reproducibility)."""
    tol = p.range_method_tolerance["CC_rel"]
    return ((_LAB_CC >= p.cc_measured_min_tc_per_gj * (1 - tol))
            & (_LAB_CC <= p.cc_measured_max_tc_per_gj * (1 + tol))).fill_null(False)


def _component_information(p: RegulationParams) -> pl.Expr:
    """LAB-006 graded low with 0 t: the component's excursion moves no emissions down.

    * direction of materiality (DOMAIN.md §3, Car = Cad·(100 − Mt)/(100 − Mad), E ∝ NCV·CC): a value off its
      band on the side that *raises* the reported emissions gains the unit nothing;
    * within the test method's precision of the edge: indistinguishable from a value on it;
    * ash dilutes carbon and heat alike (DOMAIN.md §3 Cad row, §4b coal quality spread): a Cad off its band
      whose report's carbon per unit heat is an ordinary measured CC moves no emissions;
    * a wet coal (Mt above its band) lowers Car and the as-received NCV together: honest when its CC is
      ordinary *and* every month citing the report keeps the unit's conversion efficiency (the tonnes rose
      with the water); moisture written up to lower the carbon fails one of the two.
    """
    comp, val, lo, hi = _component(p)
    tol = p.range_method_tolerance
    comp_tol = pl.when(comp == "Cad").then(tol["Cad"]).when(comp == "Mad").then(tol["Mad"]).otherwise(tol["Mt"])
    raises = ((comp == "Cad") & (val > hi)) | ((comp == "Mad") & (val > hi)) | ((comp == "Mt") & (val < lo))
    within = (val >= lo - comp_tol) & (val <= hi + comp_tol)
    cad_ordinary = (comp == "Cad") & _cc_ordinary(p)
    wet_honest = (comp == "Mt") & (_MT > pl.lit(p.mt_range_pct[1])) & _cc_ordinary(p) & pl.col("linked_energy_ok")
    return raises | within | cad_ordinary | wet_honest


def _component_stake(p: RegulationParams) -> pl.Expr:
    comp, val, lo, hi = _component(p)
    shift = (pl.when(comp == "Cad").then(lo / val - 1.0)
             .when(comp == "Mad").then((100.0 - val) / (100.0 - lo) - 1.0)
             .otherwise((100.0 - hi) / (100.0 - val) - 1.0).abs())
    return pl.when(_component_information(p)).then(0.0).otherwise(
        shift * pl.col("linked_heat_of_gj") * pl.col("carbon_ar_pct") / 100.0 / pl.col("ncv_ar_gj_per_t") * CO2_PER_C
    ).fill_nan(0.0).fill_null(0.0)


# ---- LAB-005: serial numbers against report dates --------------------------------------------------
def _serial_inversions(ctx: ScreenContext) -> pl.DataFrame:
    """LAB-005 candidates: ``ctx``'s lab reports with their serial's place among their lab's reports.

    Serial = trailing digits of ``report_no``. Reports are ordered per lab by (report_date, serial); a
    report is ``inverted`` when it has a later date than its predecessor but a smaller serial, or an
    earlier date than its successor but a larger serial — both members of an inverted pair (low).
    Severity medium needs a pattern: at least ``lab_pattern_min_reports`` reports of one enterprise-year
    that are themselves out of step (serial rank displaced from date rank by two or more places, or at
    least as far as their inverted neighbour's), so the honest clients around another client's moved
    report — each displaced by one place only — stay low. Computed over the national lab table (labs
    serve several provinces; once per national context, :func:`_serial_flags`); only reports in ``ctx``'s scope are
    returned.

    Returns:
        :func:`checks.frames.lab_frame` + ``inverted``, ``neighbour_no``, ``neighbour_date``, ``out_of_step``,
        ``n_inverted`` (out-of-step inverted reports of the enterprise-year).
    """
    flags, n_ent = _serial_flags(ctx.national())
    lab = lab_frame(ctx).join(flags, on="lab_report_id", how="left")
    return lab.with_columns(pl.col("sample_period").str.slice(0, 4).alias("_y")).join(
        n_ent, on=["enterprise_id", "_y"], how="left")


def _serial_flags(nat: ScreenContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    """LAB-005 over the national lab table, cached on ``nat``: ``(flags, n_ent)``.

    ``flags``: ``lab_report_id, inverted, neighbour_no, neighbour_date, out_of_step`` per report with a
    serial, a report date and a lab; ``n_ent``: ``enterprise_id, _y`` (sample year), ``n_inverted``.
    """

    def compute() -> tuple[pl.DataFrame, pl.DataFrame]:
        s = (nat.lab_reports().select("lab_report_id", "lab_agency_id", "report_no", "report_date")
             .with_columns(pl.col("report_no").str.extract(r"(\d+)\D*$", 1).cast(pl.Int64, strict=False).alias("serial"))
             .filter(pl.col("serial").is_not_null() & pl.col("report_date").is_not_null() & pl.col("lab_agency_id").is_not_null())
             .sort("lab_agency_id", "report_date", "serial"))
        g = "lab_agency_id"
        # displacement: how far a report's serial rank sits from its date rank within its lab. A report whose
        # serial was edited (or a batch issued out of sequence) is displaced by many places; its honest
        # neighbours only by one — so the displaced member of an inverted pair is the one out of step.
        s = s.with_columns(
            (pl.int_range(pl.len()).over(g) - (pl.col("serial").rank("ordinal").over(g) - 1)).abs().alias("displacement")
        )
        s = s.with_columns(
            pl.col("serial").shift(1).over(g).alias("prev_serial"), pl.col("report_date").shift(1).over(g).alias("prev_date"),
            pl.col("report_no").shift(1).over(g).alias("prev_no"), pl.col("displacement").shift(1).over(g).alias("prev_disp"),
            pl.col("serial").shift(-1).over(g).alias("next_serial"), pl.col("report_date").shift(-1).over(g).alias("next_date"),
            pl.col("report_no").shift(-1).over(g).alias("next_no"), pl.col("displacement").shift(-1).over(g).alias("next_disp"),
        )
        after_prev = (pl.col("report_date") > pl.col("prev_date")) & (pl.col("serial") < pl.col("prev_serial"))
        before_next = (pl.col("report_date") < pl.col("next_date")) & (pl.col("serial") > pl.col("next_serial"))
        ap, bn = after_prev.fill_null(False), before_next.fill_null(False)
        neighbour_disp = pl.when(ap & bn).then(pl.max_horizontal("prev_disp", "next_disp")).when(ap).then(
            pl.col("prev_disp")).otherwise(pl.col("next_disp"))
        flags = s.with_columns(
            (ap | bn).alias("inverted"),
            pl.when(ap).then(pl.col("prev_no")).otherwise(pl.col("next_no")).alias("neighbour_no"),
            pl.when(ap).then(pl.col("prev_date")).otherwise(pl.col("next_date")).alias("neighbour_date"),
            ((pl.col("displacement") >= 2) | (pl.col("displacement") >= neighbour_disp.fill_null(0))).alias("out_of_step"),
        ).select("lab_report_id", "inverted", "neighbour_no", "neighbour_date", "out_of_step")
        # a pattern (medium) is several reports of one enterprise-year that are themselves out of step — not
        # the honest neighbours of another client's edited report at the same lab
        n_ent = (nat.lab_reports()
                 .join(flags.filter(pl.col("inverted") & pl.col("out_of_step")), on="lab_report_id", how="semi")
                 .group_by("enterprise_id", pl.col("sample_period").str.slice(0, 4).alias("_y"))
                 .agg(pl.len().alias("n_inverted")))
        return flags, n_ent

    return nat.memo("checks.lab_serial_flags", compute)


LAB_001 = RuleSpec(
    code="LAB-001",
    family="lab_forensics",
    table="lab_reports",
    severity="high",
    title_zh="检测报告日期顺序异常",
    title_en="Lab report dates out of order",
    description_zh="应满足 采样截止 ≤ 收样 ≤ 检测 ≤ 报告 日期；顺序颠倒是篡改模板的典型痕迹。",
    description_en="Dates must satisfy sampling end ≤ receipt ≤ test ≤ report; inversions are a trace of edited templates.",
    message_zh="检测报告 {lab_report_id}：采样截止 {sampling_end}、收样 {receipt}、检测 {test}、报告 {report} 顺序异常",
    message_en="Lab report {lab_report_id}: sampling end {sampling_end}, receipt {receipt}, test {test}, report {report} out of order",
    source="Published 2022 MEE cases on falsified coal test reports (altered dates); DOMAIN.md §4.3",
    stake_text="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 summed over the monthly reports citing it (t)",
    frame="lab_reports", keys="lab", gx=True,
    violation=((pl.col("sampling_end_date") > pl.col("receipt_date")).fill_null(False)
               | (pl.col("receipt_date") > pl.col("test_date")).fill_null(False)
               | (pl.col("test_date") > pl.col("report_date")).fill_null(False)),
    observed=pl.concat_str(*[pl.col(c).cast(pl.String) for c in ("sampling_end_date", "receipt_date", "test_date", "report_date")],
                           separator=" / ", ignore_nulls=True),
    expected=pl.lit("sampling_end ≤ receipt ≤ test ≤ report"), stake=pl.col("stake_default_t"),
    params=_LAB_ID | {"sampling_end": pl.col("sampling_end_date"), "receipt": pl.col("receipt_date"),
                      "test": pl.col("test_date"), "report": pl.col("report_date")},
)

LAB_002 = RuleSpec(
    code="LAB-002",
    family="lab_forensics",
    table="lab_reports",
    severity="high",
    title_zh="收到基碳含量无法由空干基换算",
    title_en="Car does not recompute from Cad, Mad, Mt",
    description_zh="Car 应等于 Cad×(100−Mt)/(100−Mad)；不符说明数值被单独改动（如虚增全水分）。",
    description_en="Car must equal Cad × (100 − Mt)/(100 − Mad); a mismatch shows a value edited on its own (e.g. fabricated moisture).",
    message_zh="检测报告 {lab_report_id}：Car {car}% 与换算值 {car_recomputed}% 不符（Cad {cad}%，Mad {mad}%，Mt {mt}%）",
    message_en="Lab report {lab_report_id}: Car {car}% vs {car_recomputed}% recomputed from Cad {cad}%, Mad {mad}%, Mt {mt}%",
    source="GB/T 483 basis conversion; DOMAIN.md §3 (Car formula) and §4.3 (moisture fabricated)",
    stake_text="|ΔCar|/100/NCV × Σ(FC × NCV × OF) × 44/12 of the monthly reports citing it (t)",
    frame="lab_reports", keys="lab", gx=True,
    violation=lambda p: pl.col("car_abs_gap_pct") > p.car_tolerance_pct,
    observed=pl.col("carbon_ar_pct"), expected=rounded("car_recomputed_pct", 2),
    stake=pl.col("car_abs_gap_pct") / 100.0 / pl.col("ncv_ar_gj_per_t") * pl.col("linked_heat_of_gj") * CO2_PER_C,
    params=_LAB_ID | {"car": rounded("carbon_ar_pct", 2), "car_recomputed": rounded("car_recomputed_pct", 2),
                      "cad": rounded(_CAD, 2), "mad": rounded(_MAD, 2), "mt": rounded(_MT, 2)},
)

LAB_003 = RuleSpec(
    code="LAB-003",
    family="lab_forensics",
    table="monthly_reports",
    severity="high",
    title_zh="月报含碳量与检测报告不符",
    title_en="Reported carbon content differs from the lab report",
    description_zh="月报单位热值含碳量应等于所引检测报告的 Car/100/Qnet,ar。",
    description_en="The monthly carbon content must equal (Car/100)/NCV of the lab report it cites.",
    message_zh="{unit_id} {period}：报告含碳量 {cc} tC/GJ，检测报告 {lab_report_id} 折算 {lab_cc} tC/GJ",
    message_en="{unit_id} {period}: reported CC {cc} tC/GJ, lab report {lab_report_id} gives {lab_cc} tC/GJ",
    source="DOMAIN.md §3 (CC = (Car/100)/NCV); MRV guideline carbon content from elemental carbon",
    stake_text="(lab CC − reported CC) × FC × NCV × OF × 44/12, signed (t)",
    frame="monthly_reports", keys="monthly", gx=True,
    violation=lambda p: pl.col("cc_measured") & pl.col("lab_found") & (pl.col("lab_cc_rel_gap") > p.lab_cc_rel_tolerance),
    observed=_CC, expected=rounded("lab_cc", 6), stake=(pl.col("lab_cc") - _CC) * (pl.col("heat_of_gj") * CO2_PER_C),
    params={"unit_id": pl.col("unit_id"), "period": pl.col("period"), "lab_report_id": pl.col("lab_report_id"),
            "cc": rounded(_CC, 5), "lab_cc": rounded("lab_cc", 5)},
)

LAB_004 = RuleSpec(
    code="LAB-004",
    family="lab_forensics",
    table="lab_reports",
    severity="low",
    title_zh="检测报告缺少防伪二维码",
    title_en="Lab report without anti-counterfeit QR code",
    description_zh="检验检测报告应带防伪二维码；删除二维码是已公开案例中的造假手法。个别报告缺码多为疏漏（低）；"
        "同一企业同年至少 3 份报告缺码、且按该检测机构对其他客户的缺码率明显不可能时，视为针对该企业的模式（中）。",
    description_en="Test reports carry an anti-counterfeit QR code; deleting it is a method named in published cases. "
        "An isolated missing code is usually a slip (low); at least 3 reports of one enterprise-year missing it, improbably "
        "many against the same lab's omission rate on its other clients (binomial tail < 1 %), is a pattern aimed at this "
        "enterprise (medium).",
    message_zh="检测报告 {lab_report_id}（{lab_agency_id}）无防伪二维码",
    message_en="Lab report {lab_report_id} ({lab_agency_id}) has no anti-counterfeit QR code",
    source="Published 2022 MEE cases (QR codes deleted from test reports); DOMAIN.md §4.3",
    stake_text="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 summed over the monthly reports citing it (t)",
    frame="lab_reports", keys="lab", gx=True,
    violation=~pl.col("has_anti_counterfeit_code"),
    observed=pl.col("has_anti_counterfeit_code"), expected=pl.lit(True), stake=pl.col("stake_default_t"),
    params=_LAB_ID | {"lab_agency_id": pl.col("lab_agency_id")},
    evidence={"missing_in_year": pl.col("qr_missing_n"), "lab_other_rate": rounded("qr_lab_other_rate", 3),
              "tail_p_bh": pl.col("qr_tail_q"), "pattern": pl.col("qr_pattern")},
    # isolated missing codes: low; a pattern of the enterprise's own (see frames.qr_patterns): medium
    grade=pl.when(pl.col("qr_pattern")).then(pl.lit("medium")).otherwise(pl.lit("low")),
)

LAB_005 = RuleSpec(
    code="LAB-005",
    family="lab_forensics",
    table="lab_reports",
    severity="low",
    title_zh="报告流水号与日期顺序不符",
    title_en="Serial number out of order with report date",
    description_zh="同一检测机构的报告流水号应随报告日期递增；倒序说明报告被补出或改日期。颠倒对的两份报告都会被标出，"
        "故单份颠倒（常是被改报告的相邻报告）为低；同一企业同年至少 3 份颠倒为模式（中）。",
    description_en="A lab's serial numbers increase with report dates; an inversion shows a report issued later or re-dated. "
        "Both members of an inverted pair are flagged, so a single inversion (often the honest neighbour of an edited "
        "report) is low; at least 3 inverted reports of one enterprise-year are a pattern (medium).",
    message_zh="机构 {lab_agency_id}：报告 {lab_report_id} 流水号 {report_no}（{report_date}）与相邻报告 {neighbour_no}（{neighbour_date}）顺序颠倒",
    message_en="Lab {lab_agency_id}: report {lab_report_id} serial {report_no} ({report_date}) inverted with neighbour {neighbour_no} ({neighbour_date})",
    source="DOMAIN.md §4.3 (serial numbers that do not follow the dates)",
    stake_text="(default CC − reported CC)⁺ × FC × NCV × OF × 44/12 summed over the monthly reports citing it (t)",
    frame=_serial_inversions, keys="lab",
    violation=pl.col("inverted"),
    observed=pl.col("report_no"), expected=pl.lit("serial increasing with report date"), stake=pl.col("stake_default_t"),
    params={"lab_agency_id": pl.col("lab_agency_id"), "lab_report_id": pl.col("lab_report_id"),
            "report_no": pl.col("report_no"), "report_date": pl.col("report_date"),
            "neighbour_no": pl.col("neighbour_no"), "neighbour_date": pl.col("neighbour_date")},
    evidence={"inverted_in_year": pl.col("n_inverted")},
    grade=lambda p: pl.when(pl.col("n_inverted") >= p.lab_pattern_min_reports).then(pl.lit("medium")).otherwise(pl.lit("low")),
)

LAB_006 = RuleSpec(
    code="LAB-006",
    family="lab_forensics",
    table="lab_reports",
    severity="medium",
    title_zh="煤质指标超出合理范围",
    title_en="Coal analysis value outside plausible range",
    description_zh="空干基碳 Cad 50–75%（褐煤下限 35%，煤矸石下限 20%，次烟煤下限 45%，无烟煤上限 85%，煤种不明取最宽范围）、空干基水分 Mad 0.5–12%、全水分 Mt 4–40%。"
        "抬高排放的一侧或超出幅度在检测方法精密度以内（Cad 1.0、Mad 0.2、Mt 0.5 个百分点）为低，零吨；Cad 偏低但单位热值含碳量（Car/NCV）正常（高灰煤），"
        "或 Mt 偏高而含碳量正常且引用该报告的月份能量平衡成立（湿煤按比例多烧），亦为低、零吨。",
    description_en="Cad 50–75 % (lower bound 35 % for lignite, 20 % for waste coal / gangue, 45 % for sub-bituminous, upper bound 85 % for anthracite, the widest band for an unknown coal type), Mad 0.5–12 %, Mt 4–40 %. "
        "The side that raises emissions, or beyond the edge within the method's precision (Cad 1.0, Mad 0.2, Mt 0.5 points): low, 0 t; "
        "so is a low Cad whose carbon per unit heat (Car/NCV) is ordinary (a high-ash coal), and a high Mt with an ordinary CC whose citing months keep their energy balance (a wet coal burnt in proportion).",
    message_zh="检测报告 {lab_report_id}：{component} = {value}% 超出 {low}–{high}%",
    message_en="Lab report {lab_report_id}: {component} = {value}% outside {low}–{high}%",
    source="DOMAIN.md §3 (Cad / Mad / Mt ranges); lignite and waste-coal Cad bands: checks.params "
        "cad_range_by_coal_pct [verify]",
    stake_text="the linked emissions' change were the component on its band edge (Car ∝ Cad·(100 − Mt)/(100 − Mad)); 0 t on the side that raises emissions",
    frame="lab_reports", keys="lab", gx=True,
    violation=lambda p: _cad_bad() | _mad_bad(p) | _mt_bad(p),
    observed=lambda p: _component(p)[1],
    expected=lambda p: pl.concat_str(_component(p)[2].cast(pl.String), pl.lit("–"), _component(p)[3].cast(pl.String)),
    # stake: the linked emissions' change if the component sat on its band edge (Car ∝ Cad·(100 − Mt)/(100 − Mad))
    stake=lambda p: _component_stake(p),
    params=lambda p: _LAB_ID | {"component": _component(p)[0], "value": rounded(_component(p)[1], 2),
                                "low": _component(p)[2], "high": _component(p)[3]},
    evidence=lambda p: {"report_cc_tc_per_gj": rounded(_LAB_CC, 5), "cc_ordinary": _cc_ordinary(p),
                        "energy_balance_holds": pl.col("linked_energy_ok")},
    grade=lambda p: pl.when(_component_information(p)).then(pl.lit("low")).otherwise(pl.lit("medium")),
)

#: The lab_forensics rules, in code order.
SPECS: tuple[RuleSpec, ...] = (LAB_001, LAB_002, LAB_003, LAB_004, LAB_005, LAB_006)
