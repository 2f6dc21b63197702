"""智慧经济 — smart economy: firm registries, finance, complaints, opinion, statistics."""

from __future__ import annotations

from typing import Any

from connectors.binhai.spec import ConnectorSpec, fields
from connectors.mapping import KindMapping

ENTERPRISE_CHANNEL = "双万双服企业服务平台"


def platform_request(attrs: dict[str, Any]) -> dict[str, Any]:
    """A platform request as a case of the loop, on the platform's channel: its department
    and deadline are the platform's (a firm's request is no grid duty)."""
    return {**attrs, "channel": ENTERPRISE_CHANNEL}


SPECS = (
    # The market-supervision registry: an Oracle-style schema with pinyin-initial columns.
    ConnectorSpec(
        "market-registry", "sql",
        mappings=(KindMapping(
            kind="Enterprise", stream="t_scztdj", key="nbxh", source_id="tyshxydm",
            fields=fields(
                "qymc=name tyshxydm=uscc qylx=enterprise_type hy=industry "
                "fddbr=legal_representative lxdh=legal_representative_phone "
                "zczb=registered_capital_10k_cny:float clrq=established "
                "djjg=registration_authority "
                "djzt=status zs=address jyfw=business_scope jdmc=street wgbm=grid_cell"
            ),
            point=("jd", "wd"), updated_at="gxsj", required=("name", "uscc"),
        ),),
    ),
    # The finance office's registry: a REST API paged by page number.
    ConnectorSpec(
        "finance-registry", "rest", options={"pagination": "page", "items": "data"},
        mappings=(KindMapping(
            kind="FinanceFirm", stream="api/v2/firms", key="firmId", source_id="creditCode",
            fields=fields("creditCode=uscc firmName=name"), point=("lng", "lat"),
            updated_at="updateTime", rest="camel", required=("name", "uscc", "firm_type"),
        ),),
    ),
    # Quarterly operating reports, dropped as CSV and XLSX with Chinese headers.
    ConnectorSpec(
        "finance-reports", "filedrop",
        mappings=(KindMapping(
            kind="FinanceReport", stream="经营数据报送_*.*", key="报送编号", source_id="填报序号",
            fields=fields(
                "企业名称=firm_name 统一社会信用代码=uscc 机构编号=finance_firm "
                "机构类型=firm_type_name "
                "报告期=report_period 资产总额（万元）=total_assets_10k_cny:float "
                "净资产（万元）=net_assets_10k_cny:float "
                "业务余额（万元）=outstanding_balance_10k_cny:float "
                "逾期率（%）=overdue_ratio_pct:float 综合年化利率（%）=annualized_rate_pct:float "
                "客户数=customers:int 从业人数=employees:int 报送时间=submitted_at"
            ),
            required=("firm_name", "report_period"),
        ),),
    ),
    ConnectorSpec(
        "complaints", "rest", options={"pagination": "page", "items": "rows"},
        mappings=(KindMapping(
            kind="Complaint", stream="complaints", key="id", source_id="ticketNo",
            fields={}, point=("lng", "lat"), updated_at="updatedAt", rest="camel",
            required=("respondent_name", "content"),
        ),),
    ),
    ConnectorSpec(
        "public-opinion", "rest", options={"pagination": "next", "items": "items"},
        mappings=(KindMapping(
            kind="OpinionItem", stream="v1/mentions", key="id", source_id="docId",
            fields={}, updated_at="crawledAt", rest="camel", required=("title",),
        ),),
    ),
    # The statistics bureau's monitoring system exposes a GraphQL API.
    ConnectorSpec(
        "economic-stats", "graphql",
        mappings=(KindMapping(
            kind="EconomicIndicator", stream="statistics", key="id", source_id="recordNo",
            fields=fields(
                "subjectType=subject_type subjectName=subject_name creditCode=uscc "
                "park=park period=period revenue=revenue_10k_cny taxPaid=tax_paid_10k_cny "
                "output=output_10k_cny employees=employees industry=industry"
            ),
            updated_at="updatedAt", required=("subject_name", "period"),
        ),),
    ),
    # The enterprise-service platform (双万双服): firms' requests, each a case of the
    # citizen-service centre's loop on the platform's own channel (as the hub files them).
    ConnectorSpec(
        "enterprise-service", "rest", options={"pagination": "offset", "items": "data.records"},
        mappings=(KindMapping(
            kind="ServiceCase", stream="api/requests", key="id", source_id="sqbh",
            fields=fields(
                "enterpriseId=firm submittedAt=reported_at deadline=due_at "
                "finishedAt=resolved_at assignedDepartment=handling_department "
                "contactName=reporter contactPhone=reporter_phone"
            ),
            point=("lng", "lat"), updated_at="updatedAt", rest="camel",
            required=("firm_name", "content", "reported_at"), transform=platform_request,
        ),),
    ),
)  # fmt: skip
