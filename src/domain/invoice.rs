//! Invoice document, exact money arithmetic (API.md §4.7) and the payment state machine (§4.4).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::enums::wire_enum;
use super::formats::{Date, Timestamp};
use super::ids::{AppointmentId, InvoiceId, PatientId};
use super::money::{Money, TaxRate};

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
    #[serde(skip)]
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
