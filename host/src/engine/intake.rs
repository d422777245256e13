//! A new ticket: built in memory with an id and number handed out by the store, its events'
//! rules run against it, and then the ticket, its first message, its events (processed), the
//! rules' effects and run records are written together in one group commit. So a ticket never
//! exists without its rules having run, and a request costs one write, not two.

use super::chain::{ATTEMPTS, Chain};
use super::record::RunRecord;
use super::{Engine, EngineError};
use crate::store::{NewMessage, NewTicket, Tenant, TicketRow};
use ferrule_types::Event;
use std::collections::VecDeque;

/// A created ticket and the run records of its rules.
#[derive(Debug)]
pub struct Created {
    /// The ticket as stored.
    pub ticket: TicketRow,
    /// Every run record its events left.
    pub records: Vec<RunRecord>,
}

/// The ticket row a new ticket starts as.
fn row(id: i64, number: i64, t: &NewTicket, first_message_at: Option<i64>) -> TicketRow {
    TicketRow {
        id,
        number,
        subject: t.subject.clone(),
        status: t.status.clone(),
        status_changed_at: t.created_at,
        category: t.category.clone(),
        priority: t.priority.clone(),
        ticket_type: t.ticket_type.clone(),
        source: t.source.clone(),
        inbox_id: t.inbox_id,
        account: t.account.clone(),
        // Found or added by the write.
        customer_id: 0,
        customer_name: t.customer_name.clone(),
        customer_email: t.customer_email.clone(),
        customer_phone: t.customer_phone.clone(),
        assignee_id: t.assignee_id,
        assigned_at: t.assignee_id.map(|_| t.created_at),
        tags: serde_json::to_string(&t.tags).unwrap_or_else(|_| "[]".into()),
        language: t.language.clone(),
        created_at: t.created_at,
        updated_at: t.created_at,
        closed_at: t.closed_at,
        last_customer_message_at: first_message_at,
        last_agent_message_at: None,
        answered: false,
        revision: 0,
    }
}

impl Engine {
    /// Create a ticket (validated by the caller) with its first customer message, if any, and
    /// run the rules of `ticket_created` (and `first_customer_message`, `customer_message`).
    pub async fn create_ticket(
        &self,
        tenant: &Tenant,
        new: &NewTicket,
        message: Option<NewMessage>,
    ) -> Result<Created, EngineError> {
        self.create_ticket_with(tenant, new, message, &[], Vec::new())
            .await
    }

    /// [`Engine::create_ticket`] raising `also` after its own events (a channel's
    /// `return_created`), and writing `imports` once (see [`crate::store::ChainWrite::imports`]).
    pub async fn create_ticket_with(
        &self,
        tenant: &Tenant,
        new: &NewTicket,
        message: Option<NewMessage>,
        also: &[Event],
        imports: Vec<String>,
    ) -> Result<Created, EngineError> {
        let cache = self.tenant_cache(tenant).await?;
        let mut events = vec![Event::TicketCreated];
        if message.is_some() {
            events.push(Event::FirstCustomerMessage);
            events.push(Event::CustomerMessage);
        }
        events.extend(also.iter().cloned());
        for _ in 0..ATTEMPTS {
            let (id, number) = self.store.allocate_ticket(tenant.id).await?;
            let ticket = row(id, number, new, message.as_ref().map(|m| m.sent_at));
            let latest = message.as_ref().map(|m| m.stored(0, id));
            let mut chain = Chain::new(tenant.clone(), cache.clone(), ticket, latest);
            chain.created = true;
            chain.external_id = new.external_id.clone();
            chain.imports = imports.clone();
            chain.messages.extend(message.clone());
            let queue: VecDeque<(Event, usize)> = events.iter().map(|e| (e.clone(), 0)).collect();
            chain.raised.extend(queue.iter().cloned());
            let mut chain = self.run_events(chain, queue).await?;
            if self.commit(&mut chain, &[], None).await?.is_some() {
                return Ok(Created {
                    ticket: chain.ticket,
                    records: chain.runs,
                });
            }
        }
        Err(EngineError::IdsTaken)
    }
}

/// What an outside change did to a ticket: the events it raised and the message it added.
#[derive(Debug, Default)]
pub struct Change {
    /// Events the change raised (their rules run in the change's chain).
    pub events: Vec<Event>,
    /// A message the change adds.
    pub message: Option<NewMessage>,
}

/// A changed ticket, the id of the message the change added, and the run records.
#[derive(Debug)]
pub struct Changed {
    /// The ticket as stored.
    pub ticket: TicketRow,
    /// The added message's id.
    pub message_id: Option<i64>,
    /// Every run record its events left.
    pub records: Vec<RunRecord>,
}

impl Engine {
    /// Change a ticket from outside (an API call, a channel): `change` is applied to the
    /// ticket as stored now, the events it reports run their rules, and the change, the
    /// events (processed) and the rules' effects are written together. When someone else
    /// wrote the ticket meanwhile, all of it is done again on the new ticket. None when the
    /// tenant has no such ticket.
    pub async fn change_ticket<F>(
        &self,
        tenant: &Tenant,
        ticket_id: i64,
        change: F,
    ) -> Result<Option<Changed>, EngineError>
    where
        F: Fn(&mut TicketRow) -> Change,
    {
        for _ in 0..ATTEMPTS {
            let Some((mut chain, _)) = self.load_chain(tenant, ticket_id, false).await? else {
                return Ok(None);
            };
            let Change { events, message } = change(&mut chain.ticket);
            chain.changed = true;
            let has_message = message.is_some();
            if let Some(m) = message {
                chain.latest = Some(m.stored(0, ticket_id));
                chain.messages.push(m);
            }
            let queue: VecDeque<(Event, usize)> = events.into_iter().map(|e| (e, 0)).collect();
            chain.raised.extend(queue.iter().cloned());
            let mut chain = self.run_events(chain, queue).await?;
            if let Some(written) = self.commit(&mut chain, &[], None).await? {
                return Ok(Some(Changed {
                    ticket: chain.ticket,
                    message_id: written.message_ids.first().copied().filter(|_| has_message),
                    records: chain.runs,
                }));
            }
        }
        Err(EngineError::Busy(ticket_id))
    }

    /// Add a message from the customer or an agent (an API call, a channel): the ticket's
    /// reply state follows, and `customer_message` (`first_customer_message` too, for the
    /// first) or `agent_message` runs its rules. None when the tenant has no such ticket.
    pub async fn add_message(
        &self,
        tenant: &Tenant,
        ticket_id: i64,
        message: NewMessage,
    ) -> Result<Option<Changed>, EngineError> {
        let sent_at = message.sent_at;
        let customer = message.author == "customer";
        self.change_ticket(tenant, ticket_id, move |row: &mut TicketRow| {
            let events = if customer {
                let first = row.last_customer_message_at.is_none();
                row.last_customer_message_at = Some(
                    row.last_customer_message_at
                        .map_or(sent_at, |l| l.max(sent_at)),
                );
                row.answered = false;
                if first {
                    vec![Event::FirstCustomerMessage, Event::CustomerMessage]
                } else {
                    vec![Event::CustomerMessage]
                }
            } else {
                row.last_agent_message_at = Some(
                    row.last_agent_message_at
                        .map_or(sent_at, |l| l.max(sent_at)),
                );
                row.answered = true;
                vec![Event::AgentMessage]
            };
            row.updated_at = crate::store::now_ms();
            Change {
                events,
                message: Some(message.clone()),
            }
        })
        .await
    }

    /// Report an event on a ticket from outside (e.g. `return_created` by an integration):
    /// its rules run and their effects are written with the event. None when the tenant has
    /// no such ticket.
    pub async fn report_event(
        &self,
        tenant: &Tenant,
        ticket_id: i64,
        event: Event,
    ) -> Result<Option<Vec<RunRecord>>, EngineError> {
        self.report_event_once(tenant, ticket_id, event, None).await
    }

    /// [`Engine::report_event`], at most once per `key` (a channel's id of what happened):
    /// a repeat is [`EngineError::Duplicate`] and runs no rule.
    pub async fn report_event_once(
        &self,
        tenant: &Tenant,
        ticket_id: i64,
        event: Event,
        key: Option<String>,
    ) -> Result<Option<Vec<RunRecord>>, EngineError> {
        for _ in 0..ATTEMPTS {
            let Some((mut chain, _)) = self.load_chain(tenant, ticket_id, false).await? else {
                return Ok(None);
            };
            chain.imports.extend(key.clone());
            let queue: VecDeque<(Event, usize)> = [(event.clone(), 0)].into();
            chain.raised.extend(queue.iter().cloned());
            let mut chain = self.run_events(chain, queue).await?;
            if self.commit(&mut chain, &[], None).await?.is_some() {
                return Ok(Some(chain.runs));
            }
        }
        Err(EngineError::Busy(ticket_id))
    }
}
