"""Bilingual labels (English / 中文) for the page, the report and figures.

Every word a reader sees in the teaching page or the five-year final account
report comes from here, looked up by a key, so the two languages can never
drift apart.  The Chinese terms are the seed paper's, as listed in the glossary
of docs/ODD.md §11 (MODEL.md §10).  ``tr(key, lang)`` raises ``KeyError`` for
an unknown key, and ``tests/test_report.py`` checks that every key has both
languages, so a label can never silently fall back to English.
"""

from __future__ import annotations

import re
from typing import Any

LANGS = ("en", "zh")

# key -> (English, 中文)
LABELS: dict[str, tuple[str, str]] = {
    # ----- titles and stages of the cycle
    "app_title": ("Carbon budget management: play the province", "碳预算管理：扮演省级决策者"),
    "report_title": ("Five-year final account", "碳预算五年决算"),
    "annual_account": ("Annual final account", "碳预算年度决算"),
    "five_year_account": ("Five-year final account", "碳预算五年决算"),
    "plan_preparation": ("Budget plan preparation", "碳预算方案编制"),
    "monitoring_warning": ("Periodic monitoring and early warning", "碳预算阶段性监测预警"),
    "policy_regulation": ("Policy regulation", "碳预算政策调节"),
    "dual_control": ("Dual control of carbon emissions", "碳排放双控"),
    "province": ("Province", "省"),
    "city": ("City", "地级市"),
    "year": ("Year", "年份"),
    "quarter": ("Quarter", "季度"),
    "language": ("Language", "语言"),
    # ----- page controls
    "scenario": ("Scenario", "情景"),
    "seed": ("Seed", "随机种子"),
    "step_quarter": ("Step a quarter", "推进一个季度"),
    "step_year": ("Step a year", "推进一年"),
    "play": ("Play", "运行"),
    "pause": ("Pause", "暂停"),
    "reset": ("Reset", "重置"),
    "mode": ("Mode", "模式"),
    "mode_watch": ("Watch the rules", "观察规则"),
    "mode_play": ("Play the province", "扮演省级决策者"),
    "parameters": ("Parameters", "参数"),
    "group_thresholds": ("Status and warning thresholds", "盈余/超支与预警阈值"),
    "group_adjustment": ("Adjustment rule", "逐年调整规则"),
    "group_packages": ("Package strengths", "政策包力度"),
    "group_monitoring": ("Monitoring lag and noise", "监测时滞与误差"),
    "group_regime": ("Governance regime", "治理模式"),
    "group_allocation": ("Allocation weights", "指标分配权重"),
    "group_reserve": ("Reserve", "预留/单列指标"),
    "group_trading": ("Inter-city budget trading", "碳预算指标交易"),
    "group_cities": ("Cities and project approval", "城市行为与项目审批"),
    "group_steering": ("Province's steering of the remaining budget", "省级剩余预算统筹调控"),
    "now": ("Now", "当前"),
    "finished": ("Run finished", "运行结束"),
    "waiting_decision": (
        "Annual final account: the province decides",
        "年度决算：由省级决策",
    ),
    "decide": ("Apply the decision", "确认决策"),
    "use_suggestion": ("Use the rule's suggestion", "采用规则建议"),
    "suggestion": ("rule's suggestion", "规则建议"),
    "package": ("Package", "政策包"),
    "follow_status": ("follow the status", "随状态调整"),
    "change_mt": ("Change of remaining targets (Mt)", "剩余年度目标调整（百万吨）"),
    "listed_mt": ("Listed quota from the reserve (Mt)", "省级碳预算单列指标（百万吨）"),
    "reserve_left": ("Reserve left (Mt)", "剩余预留指标（百万吨）"),
    "max_change": ("Largest change allowed (Mt)", "允许的最大调整（百万吨）"),
    "your_account": ("Your final account", "你的五年决算"),
    "rule_account": ("Rule-based governor's final account", "按规则决策的五年决算"),
    "save_game": ("Save the game", "保存本局"),
    "saved_to": ("Saved to", "已保存至"),
    "event_log": ("Event log", "事件日志"),
    "filter_city": ("Filter by city", "按城市筛选"),
    "filter_kind": ("Filter by kind", "按类型筛选"),
    "all": ("all", "全部"),
    "step_time": ("Last update", "上次刷新耗时"),
    # ----- charts
    "chart_barometer": ("Budget execution barometer", "碳预算执行晴雨表"),
    "chart_progress": (
        "Cumulative emissions / scheduled budget (time progress)",
        "累计排放 / 时序进度预算",
    ),
    "chart_intensity": ("Carbon intensity against the target path", "碳排放强度与目标路径"),
    "chart_timeline": ("Policy timeline", "政策时间线"),
    "chart_cost": ("GDP loss and fiscal cost", "经济损失与财政成本"),
    "chart_emissions": ("Emissions by city and sector", "分城市、分部门排放"),
    "chart_dimensions": ("Quality evaluation by dimension", "分维度质量评价"),
    "ratio": ("ratio", "比值"),
    "intensity": ("Carbon intensity", "碳排放强度"),
    "target_path": ("target path", "目标路径"),
    "true_emissions": ("true emissions", "实际排放"),
    "fast_estimate": ("fast estimate", "快算估计"),
    "scheduled_budget": ("scheduled budget", "时序进度预算"),
    "gdp_loss": ("GDP loss (restriction)", "限产经济损失"),
    "fiscal_cost": ("fiscal cost (subsidies)", "财政成本（资金补助）"),
    "pricing_revenue": ("pricing revenue", "差别化价格收入"),
    "unit_mt": ("Mt CO2", "百万吨二氧化碳"),
    "unit_bn": ("bn CNY", "十亿元"),
    "unit_intensity": ("t CO2 per 10,000 CNY", "吨二氧化碳/万元"),
    "key_firms": ("key energy-using units", "重点用能单位"),
    "diffuse": ("diffuse sector", "分散排放部门"),
    # ----- sectors (sim/params.py SECTORS, then the diffuse sector)
    "sector_power": ("power and heat", "电力热力"),
    "sector_steel": ("steel", "钢铁"),
    "sector_cement": ("cement", "水泥"),
    "sector_chemicals": ("chemicals", "化工"),
    "sector_other_industry": ("other industry", "其他工业"),
    "sector_diffuse": ("diffuse sector", "分散排放部门"),
    "total": ("Total", "合计"),
    "output_bn": ("Output, value added (bn CNY)", "增加值（十亿元）"),
    "intensity_final": ("Intensity in the final year", "末年碳排放强度"),
    "intensity_change": ("Intensity change since the base year", "较基年强度变化"),
    "by_city_sector": (
        "Emissions by city and sector over the period (Mt)",
        "分城市、分部门规划期排放（百万吨）",
    ),
    "sector_not_recorded": (
        "By industrial sector: not recorded (this run folder has no sectors.parquet); "
        "key firms against the diffuse sector",
        "分行业：未记录（本运行目录没有 sectors.parquet）；以下为重点用能单位与分散排放部门",
    ),
    # ----- statuses, warnings, packages, grades, dimensions
    "surplus": ("surplus", "盈余"),
    "balance": ("balance", "平衡"),
    "overrun": ("overrun", "超支"),
    "overrun_orange": ("overrun (orange warning)", "超支（橙色预警）"),
    "overrun_red": ("overrun (red warning)", "超支（红色预警）"),
    "off": ("no package", "无政策包"),
    "green": ("green", "绿色"),
    "orange": ("orange", "橙色"),
    "red": ("red", "红色"),
    "excellent": ("excellent", "优秀"),
    "good": ("good", "良好"),
    "pass": ("pass", "合格"),
    "fail": ("fail", "不合格"),
    "grade": ("Grade", "等级"),
    "composite": ("Composite score", "综合得分"),
    "rationality": ("Target rationality", "碳预算目标合理性"),
    "effectiveness": ("Execution effectiveness", "碳预算执行效能"),
    "coordination": ("Cross-region, cross-department coordination", "跨地区跨部门协同治理水平"),
    "capacity": ("Funding and capacity building", "资金保障及能力建设"),
    "dimension": ("Dimension", "维度"),
    "score": ("Score", "得分"),
    # ----- regimes and modes
    "regime": ("Regime", "治理模式"),
    "budget": ("carbon budget management", "碳预算管理"),
    "traditional": ("end-loaded management", "首尾为重"),
    "budget_no_fast": ("budget, without fast monitoring", "碳预算管理（无快算监测）"),
    "budget_no_adjust": ("budget, without adjustment", "碳预算管理（无逐年调整）"),
    "budget_no_trading": ("budget, without trading", "碳预算管理（无指标交易）"),
    "budget_no_reserve": ("budget, without reserve", "碳预算管理（无预留指标）"),
    "budget_no_coord": ("budget, without five-year coordination", "碳预算管理（无五年统筹）"),
    "budget_no_coord_no_trading": (
        "budget, without coordination or trading",
        "碳预算管理（无五年统筹、无指标交易）",
    ),
    "none": ("no local policy", "无地方政策"),
    "mode_intensity": ("intensity-led", "强度为主、总量为辅"),
    "mode_total": ("total-led", "总量为主"),
    "mode_dual": ("intensity and total", "强度和总量双控"),
    # ----- report sections and table headers
    "sec_summary": ("Completion of the dual control", "双控目标完成情况"),
    "sec_accounting": ("Accounting of emissions and intensity", "排放量与强度核算"),
    "sec_by_city": ("By city", "分城市"),
    "sec_by_sector": ("By sector", "分部门"),
    "sec_annual": ("Annual final accounts", "年度决算"),
    "sec_causes": (
        "Causes: shocks, major projects, adjustments, trades",
        "原因分析：冲击、重大项目、调整、交易",
    ),
    "sec_quality": ("Quality evaluation", "质量评价"),
    "sec_barometer": ("Budget execution barometer", "碳预算执行晴雨表"),
    "sec_events": ("Main events", "主要事件"),
    "sec_assumptions": ("Assumptions", "假设条件"),
    "period": ("Plan period", "规划期"),
    "intensity_target": ("Intensity reduction target", "强度下降目标"),
    "intensity_reduction": ("Intensity reduction achieved", "强度实际下降"),
    "total_emissions": ("Emissions over the period (Mt)", "规划期排放总量（百万吨）"),
    "total_budget": ("Budget over the period (Mt)", "规划期碳预算总量（百万吨）"),
    "target_met": ("Binding target met", "约束性目标完成"),
    "met": ("met", "完成"),
    "missed": ("missed", "未完成"),
    "binding": ("binding", "约束性"),
    "not_binding": ("not binding", "非约束性"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "emissions_mt": ("Emissions (Mt)", "排放（百万吨）"),
    "held_to_mt": ("Held to (Mt)", "考核预算（百万吨）"),
    "initial_mt": ("Initial allocation (Mt)", "初始分配（百万吨）"),
    "compliance_ratio": ("Emissions / held-to", "排放/考核预算"),
    "intensity_reduction_short": ("Intensity reduction", "强度下降"),
    "intensity_target_short": ("Intensity target", "强度目标"),
    "compliant": ("Compliant", "达标"),
    "monitoring_mape": ("Fast-estimate error (MAPE)", "快算误差（MAPE）"),
    "sector": ("Sector", "部门"),
    "share": ("Share", "占比"),
    "gdp_bn": ("GDP (bn CNY)", "地区生产总值（十亿元）"),
    "accounted_mt": ("Accounted (Mt)", "决算排放（百万吨）"),
    "target_mt": ("Target (Mt)", "目标（百万吨）"),
    "traded_mt": ("Traded (Mt)", "交易（百万吨）"),
    "listed_quota_mt": ("Listed quota (Mt)", "单列指标（百万吨）"),
    "adjustment_mt": ("Adjustment (Mt)", "调整（百万吨）"),
    "status": ("Status", "状态"),
    "cause": ("Cause", "原因"),
    "count": ("Number", "次数"),
    "amount_mt": ("Amount (Mt)", "数量（百万吨）"),
    "detail": ("Detail", "说明"),
    "kind": ("Kind", "类型"),
    "value": ("Value", "数值"),
    "measure": ("Measure", "指标"),
    "gdp_loss_bn": (
        "GDP loss against no local policy (bn CNY)",
        "相对无地方政策的经济损失（十亿元）",
    ),
    "fiscal_cost_bn": ("Fiscal cost (bn CNY)", "财政成本（十亿元）"),
    "abatement_cost_bn": ("Abatement cost (bn CNY)", "减排成本（十亿元）"),
    "policy_cost_bn": (
        "Policy cost: restriction + abatement (bn CNY)",
        "政策成本：限产+减排（十亿元）",
    ),
    "end_loadedness": ("Share of GDP loss in the final year", "末年经济损失占比"),
    "shock_gdp": ("GDP growth against expectation", "经济增长偏离预期"),
    "assump_scenario": ("Scenario", "情景"),
    "assump_province": ("Province", "省份"),
    "assump_seed": ("Seed", "随机种子"),
    "assump_regime": ("Regime", "治理模式"),
    "assump_version": ("Version", "版本"),
    "assump_commit": ("Code commit", "代码版本"),
    "assump_overrides": ("Parameter changes", "参数修改"),
    "assump_rule": ("Adjustment rule", "调整规则"),
    "assump_mode": ("Dual-control mode", "双控模式"),
    "none_text": ("none", "无"),
    "generated_by": (
        "Generated by carbon-budget-sim from the run folder",
        "由 carbon-budget-sim 根据运行结果生成",
    ),
    "figures_note": ("Figures are also saved beside this file", "图表同时保存在本文件旁"),
    # ----- event kinds (sim/events.py, docs/ODD.md §7.3)
    "ev_official_statistics": ("official statistics published", "官方统计数据发布"),
    "ev_plan_base_year": ("plan: base-year estimate", "方案编制：基年排放估算"),
    "ev_plan_scenario": ("plan: scenario", "方案编制：情景"),
    "ev_plan_scenario_chosen": ("plan: scenario chosen", "方案编制：选定情景"),
    "ev_plan_infeasible": (
        "plan: no feasible target-oriented scenario",
        "方案编制：目标导向情景不可行",
    ),
    "ev_plan_budget": ("plan: total budget", "方案编制：碳预算总量"),
    "ev_plan_reserve": ("plan: reserve", "方案编制：预留指标"),
    "ev_allocation": ("indicator allocation", "指标分配"),
    "ev_negotiation_grant": ("negotiation grant", "征求意见增补指标"),
    "ev_horizontal_allocation": ("horizontal allocation", "横向分配"),
    "ev_project_approved": ("project approved", "项目获批"),
    "ev_project_rejected": ("project rejected", "项目未获批"),
    "ev_major_project_approved": ("major project approved", "重大项目获批"),
    "ev_listed_quota_granted": ("separately listed quota granted", "省级碳预算单列指标下达"),
    "ev_major_project_offset_plan": ("major project: offset plan", "重大项目：减量替代方案"),
    "ev_status": ("status change", "状态变化"),
    "ev_warning": ("warning", "预警"),
    "ev_package_switch": ("package switch", "政策包切换"),
    "ev_annual_account": ("annual final account", "年度决算"),
    "ev_trade": ("inter-city trade", "碳预算指标交易"),
    "ev_adjustment": ("adjustment", "逐年调整"),
    "ev_campaign": ("campaign (production restriction)", "运动式减排（限产）"),
    "ev_campaign_bound": (
        "campaign year: production restriction scaled within history",
        "运动式减排年：限产力度按历史降幅上限收敛",
    ),
    "ev_orderly_restriction": ("orderly restriction under the cap", "总量约束下的有序限产"),
    "ev_steering": ("steering of the remaining budget", "剩余预算闭环调控"),
    "ev_steering_restriction": (
        "orderly restriction by the steering (last resort)",
        "闭环调控兜底有序限产",
    ),
    "ev_plan_rebased": ("plan re-based on the official base year", "按官方基年数据校准方案"),
    "ev_negotiation_offer": ("city's counter-proposal (negotiation)", "城市反馈意见（征求意见）"),
    "ev_approval_room": ("city's approval room", "城市项目审批空间"),
    "ev_project_refused": ("city approval refused by the province", "省级复核否决城市审批"),
    "ev_project_deferred": ("project deferred to next year", "项目暂缓审批"),
    "ev_city_effort": ("city's policy effort", "城市政策执行力度"),
    "ev_trade_bid": ("city's trading position", "城市交易报价"),
    "ev_adjustment_request": ("city's adjustment request", "城市调整申请"),
    "ev_other": ("other", "其他"),
    # ----- sub-measures of the quality evaluation and the stage indicators (m_<measure>)
    "m_plan_error": ("plan error (emissions vs initial budget)", "方案偏差（排放与初始预算）"),
    "m_forecast_error_gdp": ("GDP forecast error", "GDP预测偏差"),
    "m_allocation_dispersion": (
        "dispersion of city outcomes vs allocations",
        "城市结果与分配指标的离散度",
    ),
    "m_feasible_share": ("share of cities with a feasible allocation", "分配指标可行的城市占比"),
    "m_overrun_quarter_share": ("share of quarters in overrun", "超支季度占比"),
    "m_gdp_loss_per_mt": ("GDP loss per Mt abated (bn CNY)", "单位减排经济损失（十亿元/百万吨）"),
    "m_end_loadedness": ("final-year share (end-loading)", "末年占比（首尾为重）"),
    "m_policy_volatility": ("package switches per city-year", "政策包切换频率（每城每年）"),
    "m_overachievement": ("over-achievement (slack left)", "超额完成幅度"),
    "m_compliance_dispersion": ("dispersion of city compliance", "城市完成度离散度"),
    "m_compliant_share": ("share of compliant cities", "达标城市占比"),
    "m_deficit_covered_by_trade": ("deficit covered by trading", "交易弥补赤字占比"),
    "m_reserve_use": ("reserve used", "预留指标使用率"),
    "m_assessment_share": (
        "share decided by an enforced carbon assessment",
        "经有效碳排放评价决定的项目占比",
    ),
    "m_fiscal_cost_per_mt": (
        "fiscal cost per Mt abated (bn CNY)",
        "单位减排财政成本（十亿元/百万吨）",
    ),
    "m_monitoring_mape": ("fast-estimate error (MAPE)", "快算误差（MAPE）"),
    "m_warning_lead_quarters": ("warning lead time (quarters)", "预警提前期（季度）"),
    "m_base_year_error": ("base-year estimate error", "基年估算误差"),
    "m_monitoring_bias_abs": ("fast-estimate bias (absolute)", "快算偏差（绝对值）"),
    "m_account_error": ("annual account error", "年度决算误差"),
    "stage_plan": ("budget plan preparation", "碳预算方案编制"),
    "stage_monitoring": ("monitoring and early warning", "阶段性监测预警"),
    "stage_regulation": ("policy regulation", "政策调节"),
    "stage_accounts": ("annual final accounts", "年度决算"),
    "quality_by_stage": ("Quality by stage of the cycle", "分阶段质量评价"),
    "stage": ("Stage", "阶段"),
    # ----- the page's controls: one label per parameter row of session.CONTROL_GROUPS
    # (p_<parameter>; the package strengths are named by package and instrument)
    "p_regime.name": ("Governance regime", "治理模式"),
    "p_monitoring.surplus_threshold": ("Surplus threshold", "盈余阈值"),
    "p_monitoring.overrun_threshold": ("Overrun threshold", "超支阈值"),
    "p_monitoring.red_threshold": ("Red warning threshold", "红色预警阈值"),
    "p_accounts.adjust_threshold": (
        "Deviation that triggers re-spreading (threshold rule)",
        "触发重新分摊的偏差（阈值规则）",
    ),
    "p_accounts.rule": ("Adjustment rule", "逐年调整规则"),
    "p_accounts.bank_rate": ("Share of a surplus carried over", "盈余结转比例（结转规则）"),
    "p_accounts.borrow_cap": ("Largest share a deficit may borrow", "赤字最大预借比例（结转规则）"),
    "p_accounts.adjust_cap": (
        "Largest change of a remaining year's target",
        "剩余年度目标最大调整幅度",
    ),
    "p_monitoring.stat_lag_quarters": (
        "Publication lag of official statistics",
        "官方统计发布时滞",
    ),
    "p_monitoring.stat_error": ("Error of official city statistics", "城市官方统计误差"),
    "p_monitoring.fast_lag_quarters": ("Lag of the fast estimate", "碳排放快算时滞"),
    "p_monitoring.fast_noise": ("Noise of the fast estimate's data", "快算数据误差"),
    "p_plan.weight_grandfathering": ("Weight of historic emissions", "历史排放权重（祖父法）"),
    "p_plan.weight_intensity": ("Weight of the intensity target", "强度目标权重"),
    "p_plan.weight_equality": ("Weight of population (equality)", "人口权重（公平原则）"),
    "p_plan.weight_efficiency": (
        "Weight of benchmark intensity (efficiency)",
        "基准强度权重（效率原则）",
    ),
    "p_plan.weight_potential": ("Weight of abatement potential", "减排潜力权重"),
    "p_plan.reserve_share": ("Share of the budget held in reserve", "预留指标占碳预算比例"),
    "p_trading.enabled": ("Inter-city budget trading", "碳预算指标交易"),
    "p_trading.volume_cap": (
        "Largest yearly trade (share of the target)",
        "年度最大交易量（占目标比例）",
    ),
    "p_trading.penalty_price": ("Buyer's reservation price", "买方保留价格"),
    "p_trading.seller_margin": ("Share of a surplus a seller keeps", "卖方保留的盈余比例"),
    "p_city.behaviour": ("Behaviour of the cities", "城市行为类型"),
    "p_projects.defer_years": ("Times a proposal may be deferred", "项目可暂缓审批次数"),
    "p_projects.value_hurdle": ("Value hurdle of a city in balance", "平衡城市的项目效益门槛"),
    "p_projects.value_hurdle_overrun": (
        "Value hurdle of a city in overrun",
        "超支城市的项目效益门槛",
    ),
    "p_monitoring.early_tolerance": ("Early tolerance of the status", "期初状态判定容差"),
    "p_steering.years": ("Years of steering to the intensity target", "强度目标闭环调控年数"),
    "p_steering.cap_years": ("Years of steering to a cap", "总量目标闭环调控年数"),
    "p_steering.max_surcharge": ("Largest steering surcharge", "调控碳价附加上限"),
    "p_steering.max_restriction": (
        "Largest orderly restriction by the steering (last resort)",
        "闭环调控兜底有序限产上限",
    ),
    "pkg_surplus": ("Surplus package", "盈余政策包"),
    "pkg_balance": ("Balance package", "平衡政策包"),
    "pkg_overrun_orange": ("Overrun package (orange warning)", "超支政策包（橙色预警）"),
    "pkg_overrun_red": ("Overrun package (red warning)", "超支政策包（红色预警）"),
    "inst_project_assessment": ("project carbon assessment", "固定资产投资项目碳排放评价"),
    "inst_regional_restriction": ("regional approval restriction", "区域限批"),
    "inst_capacity_replacement": ("capacity replacement", "产能等量/减量置换"),
    "inst_phase_out": ("phase-out of outdated capacity", "落后产能淘汰"),
    "inst_production_restriction": ("production restriction", "限产、有序用电"),
    "inst_abatement_subsidy": ("abatement subsidy", "降碳项目资金补助"),
    "inst_green_finance": ("green finance", "绿色金融"),
    "inst_differentiated_pricing": ("differentiated pricing", "差别化价格"),
    "inst_punitive_pricing": ("punitive pricing", "惩罚性价格"),
    "inst_barometer": ("budget execution barometer", "碳预算执行晴雨表"),
    "inst_public_naming": ("public naming of progress", "节能降碳成效晾晒（约谈）"),
    "inst_green_list": ("green enterprise list", "绿色企业名单"),
    "u_share": ("share", "比例"),
    "u_weight": ("weight", "权重"),
    "u_strength": ("strength", "力度"),
    "u_quarters": ("quarters", "季度"),
    "u_yr": ("years", "年"),
    "u_CNY/t": ("CNY/t", "元/吨"),
    "rule_fixed": ("fixed targets", "固定目标"),
    "rule_carryover": ("carry-over (bank and borrow)", "结转（盈余结转、赤字预借）"),
    "rule_threshold": ("re-spread above a threshold", "超过阈值时重新分摊"),
    "rule_rebase": ("re-base every year", "逐年重新分摊"),
    "true": ("on", "开启"),
    "false": ("off", "关闭"),
    # ----- identifiers inside event details (see detail_label)
    "beh_compliant": ("compliant city", "守规型城市"),
    "beh_growth_first": ("growth-first city", "增长优先型城市"),
    "beh_strategic": ("strategic city", "策略型城市"),
    "why_no_room": ("no room left in the budget", "碳预算空间不足"),
    "why_low_value": ("value too low for the room it takes", "单位碳排放增加值偏低"),
    "why_regional_restriction": ("regional approval restriction", "区域限批"),
    "why_no_replacement": ("no capacity to replace", "无可置换产能"),
    "why_reserve": ("reserve cannot hold it", "预留指标不足"),
    "why_strategic_value": ("failed strategic-value check", "未通过战略价值审查"),
    "why_refused": ("refused by the province", "省级未予批准"),
    "scen_business_as_usual": ("business as usual", "基准情景"),
    "scen_target_low_growth": ("target-oriented, low growth", "目标导向情景（低增长）"),
    "scen_target_base_growth": ("target-oriented, base growth", "目标导向情景（基准增长）"),
    "scen_target_high_growth": ("target-oriented, high growth", "目标导向情景（高增长）"),
    "shape_path": ("along the target path", "沿目标路径"),
    "shape_flat": ("flat", "平均分布"),
    "shape_front_loaded": ("front-loaded", "前重后轻"),
    "horiz_firms": ("to key firms", "分配至重点用能单位"),
    "horiz_sectors": ("to sectors", "分配至行业"),
    "reason_major_project": ("major project", "重大项目"),
    "reason_shock": ("shock", "冲击"),
    "reason_data_revision": ("data revision", "数据修订"),
    "reason_growth_above_forecast": ("growth above forecast", "增长高于预测"),
    "reason_none_stated": ("none stated", "未说明"),
    "d_published": ("published; fast model refitted", "已发布；快算模型重新拟合"),
    "d_assessment_passed": ("carbon assessment passed", "通过碳排放评价"),
    "d_no_assessment": ("no carbon assessment", "未经碳排放评价"),
    "d_assessment_failed": (
        "failed the carbon assessment, built anyway (weak enforcement)",
        "未通过碳排放评价，仍然建设（执行不力）",
    ),
    "d_refusal_enforced": (
        "approved by the city beyond the assessment rules; refusal enforced",
        "城市超出评价规则审批；省级否决已执行",
    ),
    "d_refusal_not_enforced": (
        "approved by the city beyond the assessment rules; refusal not enforced (built anyway)",
        "城市超出评价规则审批；省级否决未执行（仍然建设）",
    ),
    "d_deferred": (
        "worth it but no room left this year: to next year's round",
        "项目可取但本年度空间不足：暂缓至下一年度审批",
    ),
    "d_steering": (
        "surcharge on key firms set from the projected gap to the aim",
        "按预计缺口设定重点单位碳价附加",
    ),
    "d_campaign_bound": (
        "production restriction scaled so the year's fall stays within history",
        "限产力度按比例收敛，使当年排放降幅不超过历史范围",
    ),
    "d_steering_restriction": (
        "output withheld where the largest surcharge cannot close the gap",
        "碳价附加达上限仍无法弥合缺口时限制重点单位产量",
    ),
    "d_appeal": ("appeal granted from reserve", "申诉获批，由预留指标增补"),
    "d_projected_excess": (
        "projected five-year total above the budget",
        "预计五年排放总量超出碳预算",
    ),
    "d_listed": ("separately listed quota from the provincial reserve", "由省级预留指标单列"),
    "d_trade": (
        "quota bought (+) / sold (-) at the clearing price",
        "按出清价格买入（+）/卖出（−）指标",
    ),
    "d_listed_at_account": (
        "granted from the reserve at the annual account",
        "年度决算时由预留指标下达",
    ),
    "d_rebased": (
        "remaining targets re-based on the published official base year",
        "按已发布的官方基年数据校准剩余目标",
    ),
    "d_campaign": (
        "emergency production restriction sized to the visible gap",
        "按可见缺口实施紧急限产",
    ),
    "d_infeasible": (
        "no target-oriented scenario is feasible within the largest policy cut; "
        "the lowest-growth one is used",
        "在最大政策减排幅度内无可行的目标导向情景；采用最低增长情景",
    ),
    "d_switch": ("{0} -> {1}", "由{0}转为{1}"),
    "d_status": ("{0} ({1})", "{0}（晴雨表{1}）"),
    "d_adjusted": ("{0}: remaining targets changed", "{0}：剩余年度目标已调整"),
    "d_base_year": (
        "base year {0} estimated; last fully known year {1}",
        "基年 {0} 为估算；最近完整数据年份 {1}",
    ),
    "d_scenario": (
        "{0}: feasible: {1}, final-year cut below BAU {2}",
        "{0}：可行：{1}，末年较基准情景减排 {2}",
    ),
    "d_plan_budget": ("{0}, annual shape {1}", "{0}，年度分布：{1}"),
    "d_offset": (
        "no listed quota ({0}); phased offset by retiring outdated capacity",
        "未获单列指标（{0}）；通过淘汰落后产能分期抵消",
    ),
}


def tr(key: str, lang: str = "en") -> str:
    """The label ``key`` in ``lang`` ("en" or "zh")."""
    if lang not in LANGS:
        raise ValueError(f"lang: {lang!r} is not one of {', '.join(LANGS)}")
    return LABELS[key][LANGS.index(lang)]


def event_label(kind: str, lang: str = "en") -> str:
    """The label of an event kind; a kind added later without a label shows as
    itself (English) or as 其他 with the kind (Chinese), never as nothing."""
    key = f"ev_{kind}"
    if key in LABELS:
        return tr(key, lang)
    return kind if lang == "en" else f"{tr('ev_other', lang)}（{kind}）"


# --------------------------------------------------------------- the page
def param_label(name: str, lang: str = "en") -> str:
    """The human name of a parameter row shown as a control: ``p_<name>``, or
    for a package strength ``package.<key>.<instrument>`` the package's and the
    instrument's names; ``KeyError`` for a row without a label."""
    parts = name.split(".")
    if parts[0] == "package" and len(parts) == 3:
        return f"{tr('pkg_' + parts[1], lang)}: {tr('inst_' + parts[2], lang)}"
    return tr(f"p_{name}", lang)


def unit_label(unit: str, lang: str = "en") -> str:
    """A unit of the parameter table in ``lang`` (empty for dimensionless)."""
    return "" if unit in ("", "-") else tr(f"u_{unit}", lang)


CHOICE_PREFIX = {"regime.name": "", "accounts.rule": "rule_", "city.behaviour": "beh_"}


def choice_label(name: str, choice: Any, lang: str = "en") -> str:
    """The label of one choice of a parameter (a regime, a rule, on/off)."""
    if isinstance(choice, bool):
        return tr("true" if choice else "false", lang)
    return tr(CHOICE_PREFIX.get(name, "choice_") + str(choice), lang)


def city_label(city: str, lang: str = "en") -> str:
    """City names are scenario data and stay as given; the pseudo-city
    ``province`` is a label."""
    return tr("province", lang) if city == "province" else city


# Identifiers that appear inside event details (sim/model.py, sim/agents):
# statuses, packages, warning colours, behaviours, rules, reasons, the
# planning scenarios, annual shapes, dual-control modes.
_TOKENS: dict[str, str] = {
    **{k: k for k in ("surplus", "balance", "overrun", "overrun_orange", "overrun_red", "off",
                      "green", "orange", "red")},
    **{k: f"beh_{k}" for k in ("compliant", "growth_first", "strategic")},
    **{k: f"rule_{k}" for k in ("fixed", "carryover", "threshold", "rebase")},
    **{k: f"why_{k}" for k in ("no_room", "low_value", "regional_restriction", "no_replacement")},
    **{k: f"scen_{k}" for k in ("business_as_usual", "target_low_growth", "target_base_growth",
                                "target_high_growth")},
    **{k: f"shape_{k}" for k in ("path", "flat", "front_loaded")},
    **{k: f"mode_{k}" for k in ("intensity", "total", "dual")},
    **{k: f"horiz_{k}" for k in ("firms", "sectors")},
    **{k.replace("_", " "): f"reason_{k}" for k in ("major_project", "shock", "data_revision",
                                                  "growth_above_forecast", "none_stated")},
    "reserve cannot hold it": "why_reserve",
    "failed strategic-value check": "why_strategic_value",
    "refused by the province": "why_refused",
    "True": "yes",
    "False": "no",
}  # fmt: skip
_FIXED = {LABELS[k][0]: k for k in LABELS if k.startswith("d_") and "{" not in LABELS[k][0]}
_FIXED[
    "no target-oriented scenario is feasible within plan.max_policy_cut; the lowest-growth one is used"
] = "d_infeasible"  # noqa: E501
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), k)
    for p, k in (
        (r"(\w+) -> (\w+)", "d_switch"),
        (r"(\w+) \((\w+)\)", "d_status"),
        (r"(\w+): remaining targets changed", "d_adjusted"),
        (r"base year (\d+) estimated; last fully known year (\d+)", "d_base_year"),
        (r"(\w+): feasible=(True|False), final-year cut below BAU (\S+)", "d_scenario"),
        (r"(\w+) mode, shape (\w+)", "d_plan_budget"),
        (r"no listed quota \(([^)]*)\); phased offset by retiring outdated capacity", "d_offset"),
    )
)


def _token(word: str, lang: str) -> str:
    key = _TOKENS.get(word)
    return word if key is None else tr(key, lang)


def detail_label(detail: str, lang: str = "en") -> str:
    """An event's detail text in ``lang``: the model's fixed phrases and
    templates translated, the identifiers in them (statuses, packages, rules,
    behaviours, reasons, ...) named by their labels; numbers kept.  A detail
    the table does not know is shown as it is."""
    if detail in _FIXED:
        return tr(_FIXED[detail], lang)
    if detail in _TOKENS:
        return _token(detail, lang)
    for pattern, key in _PATTERNS:
        m = pattern.fullmatch(detail)
        if m:
            return tr(key, lang).format(*(_token(g, lang) for g in m.groups()))
    return detail
