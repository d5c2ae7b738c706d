//! Invoice document, exact money arithmetic (API.md §4.7) and the payment state machine (§4.4).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::enums::wire_enum;
use super::formats::{Date, Timestamp};
use super::ids::{AppointmentId, InvoiceId, PatientId};
use super::money::{Money, TaxRate};
use super::patch::Patch;
use super::schema;
use crate::error::{ApiError, ApiResult, ErrorCode};

wire_enum!(/// Payment status of an invoice.
    PaymentStatus { Pending = "pending", Paid = "paid", Overdue = "overdue", Cancelled = "cancelled" });
wire_enum!(/// How an invoice was paid.
PaymentMethod {
    Cash = "cash", CreditCard = "credit_card", DebitCard = "debit_card", BankTransfer = "bank_transfer",
    Check = "check", Insurance = "insurance", Other = "other",
});

impl PaymentStatus {
    /// §4.4 for a request that changes something: `from → to` allowed? (No-ops are handled before.)
    pub fn can_become(self, to: Self) -> bool {
        use PaymentStatus::*;
        matches!((self, to), (Pending, Pending | Paid | Overdue | Cancelled) | (Overdue, Paid | Overdue | Cancelled))
    }
}

/// One billed line; `amount` = quantity × unitPrice, computed by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceItem {
    pub description: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub amount: Money,
}

/// Totals computed from the items: subtotal, tax (half-up) and total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
}

/// Computes subtotal, tax and total exactly (§4.7).
pub fn totals(items: &[InvoiceItem], rate: TaxRate) -> Totals {
    let subtotal = items.iter().fold(Money::ZERO, |acc, i| acc.plus(i.amount));
    let tax = subtotal.times_rate(rate);
    Totals { subtotal, tax, total: subtotal.plus(tax) }
}

/// An invoice as the API returns it; `patientName` is the snapshot taken at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub invoice_id: InvoiceId,
    pub patient_id: PatientId,
    pub patient_name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub appointment_id: Option<AppointmentId>,
    pub invoice_date: Date,
    pub due_date: Date,
    pub items: Vec<InvoiceItem>,
    pub subtotal: Money,
    pub tax_rate: TaxRate,
    pub tax: Money,
    pub total: Money,
    pub amount_paid: Money,
    pub amount_due: Money,
    pub payment_status: PaymentStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payment_method: Option<PaymentMethod>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payment_date: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub notes: Option<String>,
    /// Optimistic-concurrency counter (API.md §1.10). Stores keep it beside the document, so reading a
    /// document without it is fine.
    #[serde(default)]
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Invoice {
    /// The key a patient's invoices are ordered by (newest first), as sortable text.
    pub fn sort_key(&self) -> String {
        self.invoice_date.to_string()
    }
}

/// One line of an invoice as a client sends it; `amount` is computed by the server (a sent one is ignored).
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct InvoiceItemRequest {
    #[schema(schema_with = schema::text::<500>)]
    pub description: String,
    #[schema(schema_with = schema::integer::<1, 10_000>)]
    pub quantity: i64,
    /// Money 0.00–1000000.00, at most two decimals.
    #[schema(schema_with = schema::unit_price)]
    pub unit_price: Money,
}

/// Body of `POST /api/v1/billing/invoices` (API.md §2.7).
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(rename_all = "camelCase")]
#[schema(example = json!({
    "patientId": "PAT-01M88ZQHVRM9S346Q3D25VT4F5", "invoiceDate": "2026-11-25", "dueDate": "2026-12-25",
    "items": [{"description": "Cardiology consultation", "quantity": 1, "unitPrice": 150.00},
              {"description": "ECG", "quantity": 2, "unitPrice": 100}],
    "notes": "Pay within 30 days"
}))]
pub struct CreateInvoiceRequest {
    /// An existing patient, any status.
    #[schema(schema_with = schema::reference_id)]
    pub patient_id: String,
    /// An existing appointment of the same patient (else 400).
    #[schema(schema_with = schema::optional_reference_id)]
    pub appointment_id: Option<String>,
    pub invoice_date: Date,
    /// On or after `invoiceDate`.
    pub due_date: Date,
    /// 1–100 items.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<InvoiceItemRequest>,
    #[schema(schema_with = schema::optional_text::<2000>)]
    pub notes: Option<String>,
}

/// Body of `PUT /api/v1/billing/invoices/{invoiceId}/payment` (API.md §2.7 PaymentUpdate).
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(rename_all = "camelCase")]
#[schema(example = json!({"paymentStatus": "paid", "paymentMethod": "credit_card"}))]
pub struct PaymentUpdateRequest {
    /// The new status; a value outside the four is 400 INVALID_PAYMENT_DATA (after the 404 and If-Match).
    #[schema(value_type = PaymentStatus)]
    pub payment_status: String,
    /// `null` clears it.
    #[schema(schema_with = schema::optional::<PaymentMethod>, required = false)]
    pub payment_method: Patch<PaymentMethod>,
    /// The total paid so far (replaces, does not add); 0 ≤ amountPaid ≤ total.
    #[schema(value_type = Money, required = false)]
    pub amount_paid: Option<Money>,
    /// ≤ now + 5 minutes.
    #[schema(value_type = Timestamp, required = false)]
    pub payment_date: Option<Timestamp>,
    /// Replaces the invoice's notes; `null` clears them.
    #[schema(schema_with = schema::optional_text::<2000>, required = false)]
    pub notes: Patch<String>,
}

fn invalid_payment(details: Vec<String>) -> ApiError {
    ApiError::new(ErrorCode::INVALID_PAYMENT_DATA).with_details(details)
}

/// Steps 4–7 of #29 against the invoice as read: `Ok(None)` when the request changes nothing, otherwise the
/// invoice to write (version and updatedAt still to be set by the caller).
pub fn plan_payment(
    current: &Invoice,
    req: &PaymentUpdateRequest,
    now: Timestamp,
    today: NaiveDate,
) -> ApiResult<Option<Invoice>> {
    // Step 4.
    let Some(to) = PaymentStatus::parse(&req.payment_status) else {
        return Err(invalid_payment(vec![format!(
            "paymentStatus: must be one of: {}",
            PaymentStatus::VALUES.join(", ")
        )]));
    };
    let from = current.payment_status;
    let total = current.total;
    let paid = match req.amount_paid {
        Some(a) => a,
        None if to == PaymentStatus::Paid => total,
        None => current.amount_paid,
    };
    let mut next = current.clone();
    next.payment_status = to;
    next.amount_paid = paid;
    next.amount_due = total.minus(paid);
    req.payment_method.clone().apply_opt(&mut next.payment_method);
    req.notes.clone().apply_opt(&mut next.notes);
    if let Some(date) = req.payment_date {
        next.payment_date = Some(date);
    } else if to == PaymentStatus::Paid && from != PaymentStatus::Paid && next.payment_date.is_none() {
        next.payment_date = Some(now);
    }
    // Step 5: compare what the client controls; amountDue follows amountPaid.
    let unchanged = next.payment_status == from
        && next.amount_paid == current.amount_paid
        && next.payment_method == current.payment_method
        && next.notes == current.notes
        && next.payment_date == current.payment_date;
    if unchanged {
        return Ok(None);
    }
    // Step 6.
    if !from.can_become(to) {
        return Err(ApiError::new(ErrorCode::INVALID_PAYMENT_TRANSITION)
            .with_detail(format!("paymentStatus: cannot change from {from} to {to}")));
    }
    // Step 7.
    let mut problems = Vec::new();
    if paid > total {
        problems.push(format!("amountPaid: must not exceed the total ({total})"));
    } else {
        match to {
            PaymentStatus::Paid if paid < total => {
                problems.push(format!("amountPaid: must equal the total ({total}) when paid"));
            }
            PaymentStatus::Pending | PaymentStatus::Overdue if paid >= total && !total.decimal().is_zero() => {
                problems.push(format!("amountPaid: must be less than the total ({total}) while {to}"));
            }
            _ => {}
        }
    }
    if to == PaymentStatus::Overdue && current.due_date.0 >= today {
        problems.push(format!("dueDate: {} is not before today, so the invoice cannot be overdue", current.due_date));
    }
    if !problems.is_empty() {
        return Err(invalid_payment(problems));
    }
    Ok(Some(next))
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus::*;

    #[test]
    fn payment_transitions_follow_the_table() {
        let allowed = [
            (Pending, Pending),
            (Pending, Paid),
            (Pending, Overdue),
            (Pending, Cancelled),
            (Overdue, Paid),
            (Overdue, Overdue),
            (Overdue, Cancelled),
        ];
        for from in [Pending, Paid, Overdue, Cancelled] {
            for to in [Pending, Paid, Overdue, Cancelled] {
                assert_eq!(from.can_become(to), allowed.contains(&(from, to)), "{from} -> {to}");
            }
        }
    }
}
