//! Billing (API.md §3.6 #27–#29) and a patient's invoices (§3.1 #10).
//!
//! Bodies and queries are parsed here; the use cases are in `crate::service::invoices`, the payment rules in the
//! pure `domain::invoice::plan_payment`.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{CreateBody, IfMatch, JsonBody, QueryParams, cursor};
use super::json::{Field, Json, Obj, Patch, Validator, object_array, rules};
use super::wire::{created, ok, tagged};
use crate::domain::CLOCK_SKEW_MS;
use crate::domain::formats::{Date, Timestamp};
use crate::domain::ids::PatientId;
use crate::domain::invoice::{
    CreateInvoiceRequest, Invoice, InvoiceItemRequest, PaymentMethod, PaymentStatus, PaymentUpdateRequest,
};
use crate::error::{ApiError, ApiResult};
use crate::service::Ctx;
use crate::service::invoices::invoice_location;
use crate::state::AppState;

const MAX_ITEMS: usize = 100;

/// `GET /api/v1/patients/{patientId}/invoices` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatientInvoicesResponse {
    pub patient_id: PatientId,
    pub invoices: Vec<Invoice>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

/// This module's `/api/v1` routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_invoice))
        .routes(routes!(get_invoice))
        .routes(routes!(update_payment))
        .routes(routes!(list_patient_invoices))
}

// ---- handlers ---------------------------------------------------------------------------------------

/// Creates an invoice (#27).
#[utoipa::path(
    post,
    path = "/api/v1/billing/invoices",
    tag = "billing",
    request_body = CreateInvoiceRequest,
    responses(
        (status = 201, description = "Invoice created", body = Invoice,
            headers(("Location" = String, description = "Path of the new invoice"))),
    )
)]
async fn create_invoice(State(state): State<AppState>, ctx: Ctx, body: CreateBody) -> ApiResult<Response> {
    let req = parse_create(&body.json)?;
    let outcome = state.service.create_invoice(&ctx, req, body.once.as_ref()).await?;
    Ok(created(outcome, |i| invoice_location(&i.invoice_id)))
}

/// Reads one invoice (#28).
#[utoipa::path(
    get,
    path = "/api/v1/billing/invoices/{invoiceId}",
    tag = "billing",
    params(("invoiceId" = crate::domain::ids::InvoiceId, Path, description = "`INV-` + ULID")),
    responses(
        (status = 200, description = "The invoice", body = Invoice),
    )
)]
async fn get_invoice(State(state): State<AppState>, ctx: Ctx, Path(raw_id): Path<String>) -> ApiResult<Response> {
    Ok(tagged(&state.service.invoice(&ctx, &raw_id).await?))
}

/// Records a payment or a status change (#29).
#[utoipa::path(
    put,
    path = "/api/v1/billing/invoices/{invoiceId}/payment",
    tag = "billing",
    params(("invoiceId" = crate::domain::ids::InvoiceId, Path, description = "`INV-` + ULID")),
    request_body = PaymentUpdateRequest,
    responses(
        (status = 200, description = "The updated (or unchanged) invoice", body = Invoice),
    )
)]
async fn update_payment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw_id): Path<String>,
    IfMatch(precondition): IfMatch,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let req = parse_payment(&body, ctx.now())?;
    Ok(tagged(&state.service.update_payment(&ctx, &raw_id, &req, &precondition).await?))
}

/// Lists a patient's invoices, newest invoiceDate first (#10).
#[utoipa::path(
    get,
    path = "/api/v1/patients/{patientId}/invoices",
    tag = "patients",
    params(
        ("patientId" = crate::domain::ids::PatientId, Path, description = "`PAT-` + ULID"),
        ("status" = Option<PaymentStatus>, Query, description = "Only invoices with this payment status"),
        ("limit" = Option<u32>, Query, description = "Page size, default 50, capped to 100"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of invoices", body = PatientInvoicesResponse),
    )
)]
async fn list_patient_invoices(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(raw_id): Path<String>,
    q: QueryParams,
) -> ApiResult<Response> {
    let mut v = q.validator();
    let status = q.one_of(&mut v, "status", PaymentStatus::parse, PaymentStatus::VALUES);
    let limit = q.limit(&mut v, 50);
    let scope =
        format!("/api/v1/patients/{raw_id}/invoices?status={}", status.map(PaymentStatus::as_str).unwrap_or_default());
    let after = cursor::from_query(&q, &mut v, &scope);
    v.finish()?;
    let (patient_id, page) = state.service.patient_invoices(&ctx, &raw_id, status, limit, after.as_ref()).await?;
    Ok(ok(&PatientInvoicesResponse {
        patient_id,
        invoices: page.items,
        next_cursor: page.next.map(|k| cursor::encode(&scope, &k)),
    }))
}

// ---- body parsing -------------------------------------------------------------------------------------

fn id_text(s: String) -> Result<String, String> {
    Ok(s)
}

fn invoice_item(o: &Obj<'_>, v: &mut Validator) -> ApiResult<Option<InvoiceItemRequest>> {
    let description = o.string("description")?;
    let quantity = o.number("quantity")?;
    let unit_price = o.number("unitPrice")?;
    let description = v.required(&o.path("description"), description, rules::text(500));
    let quantity = v.required(&o.path("quantity"), quantity, rules::int(1, 10_000));
    let unit_price = v.required(&o.path("unitPrice"), unit_price, rules::money(Some("1000000.00")));
    Ok(match (description, quantity, unit_price) {
        (Some(description), Some(quantity), Some(unit_price)) => {
            Some(InvoiceItemRequest { description, quantity, unit_price })
        }
        _ => None,
    })
}

/// Parses and validates a create body (API.md §3.6 #27 step 1).
fn parse_create(body: &Json) -> ApiResult<CreateInvoiceRequest> {
    let o = Obj::root(body)?;
    let mut v = Validator::new();
    let patient_id = o.string("patientId")?;
    let appointment_id = o.string("appointmentId")?;
    let invoice_date = o.string("invoiceDate")?;
    let due_date = o.string("dueDate")?;
    let notes = o.string("notes")?;
    let sent_items = match o.array("items")? {
        Field::Value(raw) => Some(raw.len()),
        Field::Absent | Field::Null => None,
    };
    // The item count is checked here, on the raw array, so the message names both bounds.
    let items = object_array(&o, &mut v, "items", usize::MAX, invoice_item)?;

    let patient_id = v.required("patientId", patient_id, id_text);
    let appointment_id = v.optional("appointmentId", appointment_id, id_text);
    let invoice_date = v.required("invoiceDate", invoice_date, rules::date);
    let due_date = v.required("dueDate", due_date, rules::date);
    let notes = v.optional("notes", notes, rules::text(2000));
    match sent_items {
        None => v.fail("items", "is required"),
        Some(n) if !(1..=MAX_ITEMS).contains(&n) => {
            v.fail("items", format!("must have between 1 and {MAX_ITEMS} items"));
        }
        Some(_) => {}
    }
    let items = match items {
        Field::Value(items) => items,
        Field::Absent | Field::Null => Vec::new(),
    };
    if let (Some(invoice), Some(due)) = (invoice_date, due_date)
        && due < invoice
    {
        v.fail("dueDate", "must not be before invoiceDate");
    }
    v.finish()?;
    let (Some(patient_id), Some(invoice_date), Some(due_date)) = (patient_id, invoice_date, due_date) else {
        return Err(ApiError::internal("validated create body lost a required field"));
    };
    Ok(CreateInvoiceRequest {
        patient_id,
        appointment_id,
        invoice_date: Date(invoice_date),
        due_date: Date(due_date),
        items,
        notes,
    })
}

/// Parses a payment body (API.md §3.6 #29 step 1): shapes only; `paymentStatus` must be present and a string,
/// its value is judged after the 404 check.
fn parse_payment(body: &Json, now: Timestamp) -> ApiResult<PaymentUpdateRequest> {
    let o = Obj::root(body)?;
    let mut v = Validator::new();
    let status = o.string("paymentStatus")?;
    let method = o.string("paymentMethod")?;
    let amount = o.number("amountPaid")?;
    let date = o.string("paymentDate")?;
    let notes = o.string("notes")?;

    let payment_status = v.required("paymentStatus", status, id_text);
    let payment_method =
        v.patch("paymentMethod", method, true, rules::one_of(PaymentMethod::parse, PaymentMethod::VALUES));
    let amount_paid = v.patch("amountPaid", amount, false, rules::money(None));
    let payment_date = v.patch("paymentDate", date, false, |s| {
        let t = rules::timestamp(s)?;
        if t.millis() > now.millis() + CLOCK_SKEW_MS { Err("must not be in the future".to_owned()) } else { Ok(t) }
    });
    let notes = v.patch("notes", notes, true, rules::text(2000));
    v.finish()?;
    let Some(payment_status) = payment_status else {
        return Err(ApiError::internal("validated payment body lost paymentStatus"));
    };
    Ok(PaymentUpdateRequest {
        payment_status,
        payment_method,
        amount_paid: match amount_paid {
            Patch::Set(a) => Some(a),
            Patch::Keep | Patch::Clear => None,
        },
        payment_date: match payment_date {
            Patch::Set(t) => Some(t),
            Patch::Keep | Patch::Clear => None,
        },
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::InvoiceId;
    use crate::domain::invoice::plan_payment;
    use crate::domain::money::Money;
    use crate::domain::money::TaxRate;
    use crate::error::ErrorCode;
    use chrono::NaiveDate;

    fn ts(s: &str) -> Timestamp {
        crate::domain::formats::parse_timestamp(s).unwrap()
    }

    fn now() -> Timestamp {
        ts("2026-11-25T10:00:00Z")
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn create(body: &str) -> ApiResult<CreateInvoiceRequest> {
        parse_create(&Json::parse(body.as_bytes()).unwrap())
    }

    fn payment(body: &str) -> PaymentUpdateRequest {
        parse_payment(&Json::parse(body.as_bytes()).unwrap(), now()).unwrap()
    }

    fn invoice(total: &str, status: PaymentStatus, paid: &str, due: &str) -> Invoice {
        Invoice {
            invoice_id: InvoiceId::generate(),
            patient_id: PatientId::generate(),
            patient_name: "A B".into(),
            appointment_id: None,
            invoice_date: Date(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
            due_date: Date(crate::domain::formats::parse_date(due).unwrap()),
            items: vec![],
            subtotal: m(total),
            tax_rate: TaxRate::parse("0").unwrap(),
            tax: Money::ZERO,
            total: m(total),
            amount_paid: m(paid),
            amount_due: m(total).minus(m(paid)),
            payment_status: status,
            payment_method: None,
            payment_date: None,
            notes: None,
            version: 1,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn plan(inv: &Invoice, body: &str) -> ApiResult<Option<Invoice>> {
        plan_payment(inv, &payment(body), now(), today())
    }

    fn code(r: ApiResult<Option<Invoice>>) -> ErrorCode {
        r.expect_err("should fail").code
    }

    #[test]
    fn create_validates_items_dates_and_money() {
        let ok = create(
            r#"{"patientId": "PAT-x", "invoiceDate": "2026-11-25", "dueDate": "2026-11-25",
                "items": [{"description": "ECG", "quantity": 2, "unitPrice": 100, "amount": 999}]}"#,
        )
        .unwrap();
        assert_eq!(ok.items[0].unit_price, m("100.00"));
        let e = create(
            r#"{"invoiceDate": "2026-11-25", "dueDate": "2026-11-24",
                "items": [{"description": "", "quantity": 0, "unitPrice": 150.505},
                          {"description": "x", "quantity": 1.5, "unitPrice": 1000000.01}]}"#,
        )
        .unwrap_err();
        for prefix in [
            "patientId: ",
            "dueDate: ",
            "items[0].description: ",
            "items[0].quantity: ",
            "items[0].unitPrice: ",
            "items[1].quantity: ",
            "items[1].unitPrice: ",
        ] {
            assert!(e.details.iter().any(|d| d.starts_with(prefix)), "{prefix} missing in {:?}", e.details);
        }
        let empty =
            create(r#"{"patientId": "PAT-x", "invoiceDate": "2026-11-25", "dueDate": "2026-11-25", "items": []}"#);
        assert_eq!(empty.unwrap_err().details, vec!["items: must have between 1 and 100 items"]);
        let missing = create(r#"{"patientId": "PAT-x", "invoiceDate": "2026-11-25", "dueDate": "2026-11-25"}"#);
        assert_eq!(missing.unwrap_err().details, vec!["items: is required"]);
        assert!(
            create(r#"{"items": [{"unitPrice": "150"}]}"#).unwrap_err().details[0].starts_with("items[0].unitPrice: ")
        );
    }

    #[test]
    fn payment_shape_errors_are_validation_errors() {
        let parse = |b: &str| parse_payment(&Json::parse(b.as_bytes()).unwrap(), now());
        assert_eq!(parse("{}").unwrap_err().details, vec!["paymentStatus: is required"]);
        assert_eq!(parse(r#"{"paymentStatus": 1}"#).unwrap_err().code, ErrorCode::VALIDATION_ERROR);
        // An unknown status is not a shape error: it is judged after the 404 check.
        assert!(parse(r#"{"paymentStatus": "refunded"}"#).is_ok());
        let e = parse(
            r#"{"paymentStatus": "paid", "paymentMethod": "bitcoin", "amountPaid": -1,
                          "paymentDate": "2026-11-25T10:06:00Z", "notes": 5}"#,
        );
        assert!(e.unwrap_err().details[0].starts_with("notes: "));
        let e = parse(
            r#"{"paymentStatus": "paid", "paymentMethod": "bitcoin", "amountPaid": 1.001,
                          "paymentDate": "2026-11-25T10:06:00Z"}"#,
        )
        .unwrap_err();
        assert_eq!(e.details.len(), 3, "{:?}", e.details);
        assert!(parse(r#"{"paymentStatus": "paid", "amountPaid": null}"#).is_err());
    }

    #[test]
    fn paying_in_full_fills_amount_and_date_and_repeating_is_a_no_op() {
        let inv = invoice("378.00", PaymentStatus::Pending, "0", "2026-12-25");
        let next = plan(&inv, r#"{"paymentStatus": "paid", "paymentMethod": "credit_card"}"#).unwrap().unwrap();
        assert_eq!((next.amount_paid, next.amount_due), (m("378"), Money::ZERO));
        assert_eq!(next.payment_date, Some(now()));
        assert!(plan(&next, r#"{"paymentStatus": "paid", "paymentMethod": "credit_card"}"#).unwrap().is_none());
        assert!(plan(&next, r#"{"paymentStatus": "paid", "amountPaid": 378}"#).unwrap().is_none());
        assert_eq!(code(plan(&next, r#"{"paymentStatus": "pending"}"#)), ErrorCode::INVALID_PAYMENT_TRANSITION);
        assert_eq!(
            code(plan(&next, r#"{"paymentStatus": "paid", "notes": "x"}"#)),
            ErrorCode::INVALID_PAYMENT_TRANSITION
        );
    }

    #[test]
    fn unknown_status_is_invalid_payment_data() {
        let inv = invoice("10", PaymentStatus::Pending, "0", "2026-12-25");
        assert_eq!(code(plan(&inv, r#"{"paymentStatus": "refunded"}"#)), ErrorCode::INVALID_PAYMENT_DATA);
    }

    #[test]
    fn amount_rules() {
        let inv = invoice("100", PaymentStatus::Pending, "0", "2026-11-24");
        assert_eq!(
            code(plan(&inv, r#"{"paymentStatus": "paid", "amountPaid": 99.99}"#)),
            ErrorCode::INVALID_PAYMENT_DATA
        );
        assert_eq!(
            code(plan(&inv, r#"{"paymentStatus": "pending", "amountPaid": 100}"#)),
            ErrorCode::INVALID_PAYMENT_DATA
        );
        assert_eq!(
            code(plan(&inv, r#"{"paymentStatus": "cancelled", "amountPaid": 100.01}"#)),
            ErrorCode::INVALID_PAYMENT_DATA
        );
        let partial = plan(&inv, r#"{"paymentStatus": "pending", "amountPaid": 40}"#).unwrap().unwrap();
        assert_eq!((partial.amount_paid, partial.amount_due, partial.payment_date), (m("40"), m("60"), None));
        assert!(plan(&inv, r#"{"paymentStatus": "overdue"}"#).unwrap().is_some());
        let not_due = invoice("100", PaymentStatus::Pending, "0", "2026-11-25");
        assert_eq!(code(plan(&not_due, r#"{"paymentStatus": "overdue"}"#)), ErrorCode::INVALID_PAYMENT_DATA);
        // A zero total may stay pending at 0.00.
        let zero = invoice("0", PaymentStatus::Pending, "0", "2026-12-25");
        assert!(plan(&zero, r#"{"paymentStatus": "pending", "notes": "free"}"#).unwrap().is_some());
    }

    #[test]
    fn nulls_clear_method_and_notes() {
        let mut inv = invoice("100", PaymentStatus::Pending, "0", "2026-12-25");
        inv.payment_method = Some(PaymentMethod::Cash);
        inv.notes = Some("n".into());
        let next =
            plan(&inv, r#"{"paymentStatus": "pending", "paymentMethod": null, "notes": null}"#).unwrap().unwrap();
        assert_eq!((next.payment_method, next.notes), (None, None));
        assert!(
            plan(&inv, r#"{"paymentStatus": "pending", "paymentMethod": "cash", "notes": "n"}"#).unwrap().is_none()
        );
    }

    #[test]
    fn final_statuses_accept_only_no_ops() {
        let inv = invoice("100", PaymentStatus::Cancelled, "0", "2026-12-25");
        assert!(plan(&inv, r#"{"paymentStatus": "cancelled"}"#).unwrap().is_none());
        assert_eq!(code(plan(&inv, r#"{"paymentStatus": "paid"}"#)), ErrorCode::INVALID_PAYMENT_TRANSITION);
        let overdue = invoice("100", PaymentStatus::Overdue, "0", "2026-11-01");
        assert_eq!(code(plan(&overdue, r#"{"paymentStatus": "pending"}"#)), ErrorCode::INVALID_PAYMENT_TRANSITION);
    }
}
