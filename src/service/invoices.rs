//! Billing use cases (API.md §3.6 #27–#29) and a patient's invoices (§3.1 #10).
//!
//! Amounts are computed exactly by `domain::invoice::totals`; clients never send them. Invoices change only
//! through the payment route, whose rules (§3.6 #29, §4.4) are the pure `domain::invoice::plan_payment`.

use async_trait::async_trait;

use super::idempotency::{Created, IdempotentRequest};
use super::write::{Precondition, Update, update};
use super::{Ctx, Service, not_found};
use crate::domain::ids::{InvoiceId, PatientId};
use crate::domain::invoice::{
    CreateInvoiceRequest, Invoice, InvoiceItem, PaymentStatus, PaymentUpdateRequest, plan_payment, totals,
};
use crate::domain::money::Money;
use crate::error::{ApiError, ApiResult, Entity, OnEntity};
use crate::store::{AuditEvent, CursorKey, KeyPage, StoreResult};

impl Service {
    /// #27 steps 2–4: the patient must exist (any status; inactive patients can be billed), an appointment named
    /// must be the same patient's, then the amounts are computed and the invoice written.
    pub async fn create_invoice(
        &self,
        ctx: &Ctx,
        req: CreateInvoiceRequest,
        once: Option<&IdempotentRequest>,
    ) -> ApiResult<Created<Invoice>> {
        self.create_once(self.records.clone(), ctx, INVOICES, once, Entity::Invoice, |claim| async move {
            let invoice = self.new_invoice(ctx, req).await?;
            let location = invoice_location(&invoice.invoice_id);
            let done = claim.map(|c| c.created(ctx, &location, invoice.version, &invoice)).transpose()?;
            let event = ctx.write_event(invoice.invoice_id.as_str(), &[invoice.patient_id.as_str()]);
            self.records.insert_invoice(&invoice, done.as_ref(), &event).await.on(Entity::Invoice)?;
            ctx.audit.written();
            Ok(invoice)
        })
        .await
    }

    async fn new_invoice(&self, ctx: &Ctx, req: CreateInvoiceRequest) -> ApiResult<Invoice> {
        let patient = self.patient_named(ctx, &req.patient_id).await?;
        let appointment_id = match &req.appointment_id {
            Some(raw) => {
                let appointment = self.appointment_reference(raw).await?;
                if appointment.patient_id != patient.patient_id {
                    return Err(ApiError::invalid("appointmentId", "belongs to another patient"));
                }
                Some(appointment.appointment_id)
            }
            None => None,
        };
        let items: Vec<InvoiceItem> = req
            .items
            .into_iter()
            .map(|i| InvoiceItem {
                amount: i.unit_price.times(i.quantity),
                description: i.description,
                quantity: i.quantity,
                unit_price: i.unit_price,
            })
            .collect();
        let rate = self.settings.tax_rate;
        let sums = totals(&items, rate);
        let now = ctx.now();
        Ok(Invoice {
            invoice_id: InvoiceId::generate(),
            patient_name: patient.full_name(),
            patient_id: patient.patient_id,
            appointment_id,
            invoice_date: req.invoice_date,
            due_date: req.due_date,
            items,
            subtotal: sums.subtotal,
            tax_rate: rate,
            tax: sums.tax,
            total: sums.total,
            amount_paid: Money::ZERO,
            amount_due: sums.total,
            payment_status: PaymentStatus::Pending,
            payment_method: None,
            payment_date: None,
            notes: req.notes,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    /// #28: a strongly consistent read.
    pub async fn invoice(&self, ctx: &Ctx, raw_id: &str) -> ApiResult<Invoice> {
        let id = parse_id(raw_id)?;
        let found = self.records.get_invoice(&id).await.on(Entity::Invoice)?;
        let invoice = found.filter(|i| ctx.sees(&i.patient_id)).ok_or_else(|| not_found(Entity::Invoice))?;
        ctx.audit.touch(Some(id.as_str()), [invoice.patient_id.as_str()]);
        Ok(invoice)
    }

    /// #29: the payment plan against the invoice as read, written conditionally on its version.
    pub async fn update_payment(
        &self,
        ctx: &Ctx,
        raw_id: &str,
        req: &PaymentUpdateRequest,
        precondition: &Precondition,
    ) -> ApiResult<Invoice> {
        let id = parse_id(raw_id)?;
        Ok(update(&Payment { service: self, id: &id, req, ctx }, ctx, &self.turns, precondition).await?.resource)
    }

    /// #10 steps 2–3: the patient must exist (any status); then one page of D's index.
    pub async fn patient_invoices(
        &self,
        ctx: &Ctx,
        raw_patient: &str,
        status: Option<PaymentStatus>,
        limit: u32,
        after: Option<&CursorKey>,
    ) -> ApiResult<(PatientId, KeyPage<Invoice>)> {
        let patient = self.patient_named(ctx, raw_patient).await?;
        let page =
            self.records.list_patient_invoices(&patient.patient_id, status, limit, after).await.on(Entity::Invoice)?;
        ctx.audit.touch(Some(patient.patient_id.as_str()), [patient.patient_id.as_str()]);
        Ok((patient.patient_id, page))
    }
}

/// The collection path, which is also the scope of its POSTs' idempotency keys.
pub const INVOICES: &str = "/api/v1/billing/invoices";

/// Where an invoice lives (`Location` of its 201).
pub fn invoice_location(id: &InvoiceId) -> String {
    format!("{INVOICES}/{id}")
}

fn parse_id(raw: &str) -> ApiResult<InvoiceId> {
    InvoiceId::parse(raw).ok_or_else(|| not_found(Entity::Invoice))
}

struct Payment<'a> {
    service: &'a Service,
    id: &'a InvoiceId,
    req: &'a PaymentUpdateRequest,
    ctx: &'a Ctx,
}

#[async_trait]
impl Update for Payment<'_> {
    type Resource = Invoice;
    type Written = ();
    const ENTITY: Entity = Entity::Invoice;

    fn id(&self) -> &str {
        self.id.as_str()
    }

    async fn load(&self) -> ApiResult<Option<Invoice>> {
        self.service.records.get_invoice(self.id).await.on(Entity::Invoice)
    }

    async fn plan(&self, current: &Invoice) -> ApiResult<Option<Invoice>> {
        plan_payment(current, self.req, self.ctx.now(), self.ctx.today())
    }

    fn patient_of<'r>(&self, resource: &'r Invoice) -> Option<&'r str> {
        Some(resource.patient_id.as_str())
    }

    async fn write(&self, current: &Invoice, next: &Invoice, event: &AuditEvent) -> StoreResult<()> {
        self.service.records.update_invoice(next, current.version, event).await
    }
}
