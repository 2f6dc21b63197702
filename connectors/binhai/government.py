"""智慧政务 — smart government: the citizen-service channels, law enforcement, services."""

from __future__ import annotations

from connectors.binhai.spec import ConnectorSpec, fields
from connectors.mapping import KindMapping

# The five channels of the citizen-service response system each describe a case their own way.
_CASE_REQUIRED = ("channel", "content", "reported_at")

SPECS = (
    # The hotline's call-center platform pushes signed webhooks for each case change, and
    # takes the hub's status changes back (a signed REST callback).
    ConnectorSpec(
        "service-hotline", "webhook", mode="push", write_back="/cases/{id}/status",
        mappings=(KindMapping(
            kind="ServiceCase", stream="cases", key="caseKey", source_id="workOrderNo",
            fields={}, point=("lng", "lat"), updated_at="updatedAt", rest="camel",
            required=_CASE_REQUIRED,
        ),),
    ),
    ConnectorSpec(
        "grid-management", "rest", options={"pagination": "page", "items": "items"},
        mappings=(
            KindMapping(kind="GridCell", stream="api/v1/cells", key="code", source_id="code",
                        fields=fields("code"), geometry="boundary", rest="camel",
                        required=("name", "street")),
            KindMapping(kind="Inspector", stream="api/v1/inspectors", key="id",
                        source_id="employeeNo", fields=fields("employeeNo=employee_no"),
                        point=("lng", "lat"), updated_at="positionAt", rest="camel",
                        required=("name", "grid_cell")),
            KindMapping(kind="DutyCategory", stream="api/v1/duty-categories", key="code",
                        source_id="code", fields=fields("code"), rest="camel"),
            KindMapping(kind="DutySubCategory", stream="api/v1/duty-subcategories",
                        key="code", source_id="code", fields=fields("code"), rest="camel"),
            # the inspectors' own reports (网格员上报), filed from the patrol app
            KindMapping(kind="ServiceCase", stream="api/v1/cases", key="caseKey",
                        source_id="caseNo", fields={}, point=("lng", "lat"),
                        updated_at="updatedAt", rest="camel", required=_CASE_REQUIRED),
        ),
    ),
    ConnectorSpec(
        "snap-and-send", "webhook", mode="push",
        mappings=(KindMapping(
            kind="ServiceCase", stream="reports", key="caseKey", source_id="reportId",
            fields={}, point=("lng", "lat"), updated_at="updatedAt", rest="camel",
            required=_CASE_REQUIRED,
        ),),
    ),
    ConnectorSpec(
        "district-mailbox", "rest", options={"pagination": "offset", "items": "data.list",
                                             "since_param": "gxsj_start"},
        write_back="/cases/{id}/status",
        mappings=(KindMapping(
            kind="ServiceCase", stream="mailbox/letters", key="xjbh", source_id="xjh",
            fields=fields(
                "qd=channel lb=category xl=subcategory xlmc=subcategory_name bt=title "
                "nr=content xm=reporter dh=reporter_phone dz=address jd_name=street "
                "wg=grid_cell lxsj=reported_at zt=status cbdw=handling_department "
                "myd=rating:int qymc=firm_name bjsj=resolved_at"
            ),
            point=("x", "y"), updated_at="gxsj", required=_CASE_REQUIRED,
        ),),
    ),
    ConnectorSpec(
        "zero-distance", "rest", options={"pagination": "next", "items": "results"},
        mappings=(KindMapping(
            kind="ServiceCase", stream="api/posts", key="caseKey", source_id="postId",
            fields={}, point=("lng", "lat"), updated_at="updatedAt", rest="camel",
            required=_CASE_REQUIRED,
        ),),
    ),
    ConnectorSpec(
        "law-enforcement", "sql",
        mappings=(KindMapping(
            kind="EnforcementCase", stream="zf_ajxx", key="ajxh", source_id="ajbh",
            fields=fields(
                "dsrmc=party_name dsrxydm=party_uscc dsrlx=party_type ajlx=case_type "
                "wfxw=violation flyj=legal_basis cfjd=penalty fkje=fine_cny:float "
                "zfbm=enforcing_department larq=filed_on jarq=closed_on ajzt=status "
                "jdmc=street wgbm=grid_cell"
            ),
            point=("jd", "wd"), updated_at="gxsj", required=("party_name", "case_type"),
        ),),
    ),
    ConnectorSpec(
        "service-items", "rest", options={"pagination": "page", "items": "items"},
        mappings=(KindMapping(
            kind="ServiceItem", stream="api/items", key="id", source_id="itemCode",
            fields=fields("itemCode=item_code"), rest="camel", required=("name",),
        ),),
    ),
    ConnectorSpec(
        "online-applications", "webhook", mode="push",
        mappings=(KindMapping(
            kind="ServiceApplication", stream="applications", key="id", source_id="applyNo",
            fields={}, updated_at="updatedAt", rest="camel", required=("item", "submitted_at"),
        ),),
    ),
)  # fmt: skip
