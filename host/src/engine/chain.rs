//! One chain of work on one ticket: events (and, for the scheduler, time rules) run rules in
//! position order against the ticket in memory; effects are visible to the next rule; the
//! whole chain — ticket, messages, outbox, run records, events — is written in one savepoint of
//! a group commit, which fails when someone else wrote the ticket meanwhile, and the chain is
//! then run again. A new ticket (an intake) is a chain too: nothing of it is written before its
//! rules ran, and then all of it at once.

use super::effects;
use super::evaluate::{Evaluated, wait};
use super::reads;
use super::record::RunRecord;
use super::tree;
use super::{Engine, EngineError, LoadedRule, MAX_CHAIN_DEPTH, TenantCache, context};
use crate::domain::rule::Trigger;
use crate::runtime::{Limits, Sandbox, Session};
use crate::store::{
    ChainWrite, EventText, MessageRow, NewMessage, Outgoing, RunText, Tenant, TicketRow,
    TicketWrite, WriteError, Written, now_ms,
};
use ferrule_types::{Context, Effect, Event};
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// How often a chain is run again when its ticket was written by someone else meanwhile.
pub(super) const ATTEMPTS: usize = 5;

/// A ticket with the chain's effects applied in memory, and what the chain will write.
pub(super) struct Chain {
    pub tenant: Tenant,
    pub cache: Arc<TenantCache>,
    pub ticket: TicketRow,
    pub latest: Option<MessageRow>,
    /// The moment of the chain, as plugins see it.
    pub now: i64,
    /// Whether the ticket row changed.
    pub changed: bool,
    /// Whether the ticket is new (an intake): it is inserted, not saved.
    pub created: bool,
    /// Messages the chain writes: an intake's inbound message first, then the rules' replies.
    pub messages: Vec<NewMessage>,
    pub outbox: Vec<(i64, Outgoing)>,
    pub runs: Vec<RunRecord>,
    /// Events to store as processed by this chain, with their depth: an intake's own events
    /// and those raised by effects.
    pub raised: Vec<(Event, usize)>,
    /// Rules that fired in this chain (loop protection).
    pub fired: HashSet<i64>,
    /// Time rules that fired in this chain.
    pub time_fired: Vec<i64>,
    /// For an intake: the channel's id of the new ticket.
    pub external_id: Option<String>,
    /// Keys of things a channel reports once (see [`ChainWrite::imports`]).
    pub imports: Vec<String>,
}

impl Chain {
    /// A chain on `ticket` (as read, or built in memory for an intake) at the current moment.
    pub fn new(
        tenant: Tenant,
        cache: Arc<TenantCache>,
        ticket: TicketRow,
        latest: Option<MessageRow>,
    ) -> Chain {
        Chain {
            tenant,
            cache,
            ticket,
            latest,
            now: now_ms(),
            changed: false,
            created: false,
            messages: Vec::new(),
            outbox: Vec::new(),
            runs: Vec::new(),
            raised: Vec::new(),
            fired: HashSet::new(),
            time_fired: Vec::new(),
            external_id: None,
            imports: Vec::new(),
        }
    }

    fn context(&self, event: &Event) -> Context {
        let data = &self.cache.data;
        Context {
            tenant: self.tenant.id.to_string(),
            now: ferrule_types::Timestamp::from_timestamp_millis(self.now).unwrap_or_default(),
            timezone: self.tenant.timezone.clone(),
            event: event.clone(),
            ticket: context::ticket(&self.ticket, &data.statuses, &data.inboxes),
            latest_message: self.latest.as_ref().map(context::message),
        }
    }

    fn sandbox(&self) -> Sandbox {
        Sandbox::new(Limits::CONDITION).with_directory(self.cache.data.directory.clone())
    }
}

/// When a time rule that failed is tried again.
const RETRY_FAILED_MS: i64 = 5 * 60 * 1000;

impl Engine {
    /// Read a ticket into a fresh chain; None when the ticket does not exist. With `fires`,
    /// also the revisions at which time rules fired for it.
    pub(super) async fn load_chain(
        &self,
        tenant: &Tenant,
        ticket_id: i64,
        with_fires: bool,
    ) -> Result<Option<(Chain, std::collections::HashMap<i64, i64>)>, EngineError> {
        let cache = self.tenant_cache(tenant).await?;
        // Three reads at once, outside a transaction: if the ticket is written between them,
        // the chain's write finds another revision and the chain runs again.
        let store = &self.store;
        let (ticket, latest, fires) = tokio::join!(
            store.ticket(tenant.id, ticket_id),
            store.latest_message_of(tenant.id, ticket_id),
            async {
                if with_fires {
                    store.time_fires_of(ticket_id).await
                } else {
                    Ok(Default::default())
                }
            }
        );
        let Some(ticket) = ticket? else {
            return Ok(None);
        };
        let (latest, fires) = (latest?, fires?);
        Ok(Some((
            Chain::new(tenant.clone(), cache, ticket, latest),
            fires,
        )))
    }

    /// The ticket's conversation so far (stored messages and this chain's), summarised.
    async fn conversation(&self, chain: &Chain) -> Result<String, EngineError> {
        let mut messages = if chain.created {
            Vec::new()
        } else {
            self.store
                .messages(chain.tenant.id, chain.ticket.id)
                .await?
        };
        messages.extend(chain.messages.iter().map(|r| r.stored(0, chain.ticket.id)));
        Ok(effects::conversation_summary(
            &messages,
            &chain.ticket.customer_name,
        ))
    }

    /// Settle a rule's conditions (`record.outcome`, set by the caller from the tree's answer)
    /// and, when they hold, run its actions: the effects to apply, or None with `record` saying
    /// why not (`not_matched` or `failed`).
    pub(super) fn effects_of(
        &self,
        rule: &LoadedRule,
        installations: &super::Installations,
        ctx: &Context,
        sandbox: &Sandbox,
        record: &mut RunRecord,
        session: &mut Session,
    ) -> Option<Vec<Effect>> {
        if record.outcome != "matched" {
            return None;
        }
        let (effects, fuel) = self.run_actions(rule, installations, ctx, sandbox, session);
        record.fuel = Some(record.fuel.unwrap_or(0) + fuel);
        match effects {
            Err(e) => {
                record.fail(e);
                None
            }
            Ok(effects) => {
                record.effects = Some(effects.clone());
                Some(effects)
            }
        }
    }

    /// Run `rules` (in order) for one event. A rule that fires applies its effects to the
    /// chain's ticket, and the rules after it are evaluated again against the new ticket.
    /// Returns the events the effects raised and, for time rules, the earliest moment one of
    /// the rules that did not fire may change its answer. Plugin work: call on a blocking
    /// thread, in the tenant's lane (see [`Engine::plugin_work`]).
    fn run_rules(
        &self,
        chain: &mut Chain,
        mut pending: Vec<&LoadedRule>,
        event: &Event,
        session: &mut Session,
    ) -> Result<(Vec<Event>, Option<i64>), EngineError> {
        let mut raised = Vec::new();
        let mut next: Option<i64> = None;
        let mut soonest = |at: i64| next = Some(next.map_or(at, |n: i64| n.min(at)));
        let ticket_id = chain.ticket.id;
        let sandbox = chain.sandbox();
        let mut ctx = chain.context(event);
        let installations = chain.cache.installations.clone();
        let mut eval: Evaluated =
            self.evaluate_leaves(&pending, &installations, &ctx, &sandbox, session);
        let mut index = 0;
        while index < pending.len() {
            let rule = pending[index];
            let time_rule = rule.is_time_rule();
            let started = Instant::now();
            let not_run = if chain.fired.contains(&rule.id) {
                let mut r = RunRecord::new(rule, ticket_id, event, "skipped");
                r.reason = Some(
                    "the rule already fired for this ticket in this chain of events (loop protection)",
                );
                Some(r)
            } else {
                rule.paused().map(|why| {
                    let mut r = RunRecord::new(rule, ticket_id, event, "paused");
                    r.error = Some(why.to_owned());
                    r
                })
            };
            if let Some(record) = not_run {
                self.metrics.runs(record.outcome).inc();
                chain.runs.push(record);
                index += 1;
                continue;
            }
            let mut used = Vec::new();
            let decided = tree::decide(&rule.spec.conditions, &eval.results[index], &mut used);
            let mut record = RunRecord::evaluated(
                rule,
                ticket_id,
                event,
                &eval.results[index],
                &used,
                eval.fuel,
            );
            eval.fuel = 0;
            let hint = eval.hint(index);
            record.settle(decided);
            if let Some(mut effects) =
                self.effects_of(rule, &installations, &ctx, &sandbox, &mut record, session)
            {
                if effects::mentions_conversation(&effects) {
                    let summary = wait(self.conversation(chain))?;
                    effects::fill_conversation(&mut effects, &summary);
                }
                let mut ticket = chain.ticket.clone();
                let data = &chain.cache.data;
                match effects::apply(
                    &mut ticket,
                    &effects,
                    &data.statuses,
                    &data.agent_ids,
                    rule.id,
                    chain.now,
                ) {
                    Err(e) => record.fail(e),
                    Ok(applied) => {
                        record.outcome = "fired";
                        record.duration_us = Some(started.elapsed().as_micros() as u64);
                        self.metrics.runs("fired").inc();
                        let before = std::mem::replace(&mut chain.ticket, ticket);
                        let latest_before = chain.latest.clone();
                        chain.changed |= applied.changed;
                        chain.fired.insert(rule.id);
                        if time_rule {
                            chain.time_fired.push(rule.id);
                        }
                        let first_reply = chain.messages.len();
                        for reply in applied.replies {
                            chain.latest = Some(reply.stored(0, ticket_id));
                            chain.messages.push(reply);
                        }
                        chain.outbox.extend(applied.outbox.into_iter().map(|mut o| {
                            o.message = o.message.map(|i| first_reply + i);
                            (rule.id, o)
                        }));
                        raised.extend(applied.events);
                        chain.runs.push(record);
                        index += 1;
                        if applied.changed && index < pending.len() {
                            // Later rules see the new ticket: the leaves that read what
                            // changed are evaluated again.
                            let parts = reads::changed(
                                &before,
                                &chain.ticket,
                                latest_before.as_ref(),
                                chain.latest.as_ref(),
                            );
                            pending = pending.split_off(index);
                            let previous = eval.split_off(index);
                            index = 0;
                            ctx = chain.context(event);
                            eval = self.reevaluate(
                                &pending,
                                &installations,
                                &ctx,
                                &sandbox,
                                Some((previous, parts)),
                                session,
                            );
                        }
                        continue;
                    }
                }
            }
            record.duration_us = Some(started.elapsed().as_micros() as u64);
            let outcome = record.outcome;
            self.metrics.runs(outcome).inc();
            if time_rule {
                if outcome == "failed" {
                    soonest(chain.now + RETRY_FAILED_MS);
                } else if let Some(at) = hint {
                    soonest(at);
                }
            }
            // A time rule that did not match leaves no record: it is evaluated after every
            // change and wake-up, and the dry run explains it on demand.
            if !(time_rule && outcome == "not_matched") {
                chain.runs.push(record);
            }
            index += 1;
        }
        Ok((raised, next))
    }

    /// Run the event rules of each queued event, and of the events their effects raise: the
    /// whole chain in one stretch of plugin work, in the tenant's lane.
    pub(super) async fn run_events(
        &self,
        mut chain: Chain,
        queue: VecDeque<(Event, usize)>,
    ) -> Result<Chain, EngineError> {
        let heard = queue.iter().any(|(e, _)| {
            chain
                .cache
                .rules
                .iter()
                .any(|r| r.spec.listens_to(e.kind()))
        });
        if !heard {
            // No rule listens: no plugin work, and no effects to raise more events.
            for _ in &queue {
                self.metrics.events.inc();
            }
            return Ok(chain);
        }
        self.plugin_work(chain.tenant.id, move |engine| {
            engine.run_events_now(&mut chain, queue).map(|()| chain)
        })
        .await?
    }

    /// Time rules on a ticket (plugin work): `rules` with the event `schedule_tick`, then the
    /// event rules of the events their effects raise. The earliest moment one of the time
    /// rules that did not fire may change its answer.
    fn run_time_rules(
        &self,
        chain: &mut Chain,
        rules: Vec<&LoadedRule>,
    ) -> Result<Option<i64>, EngineError> {
        if rules.is_empty() {
            return Ok(None);
        }
        let (raised, hint) =
            self.run_rules(chain, rules, &Event::ScheduleTick, &mut Session::default())?;
        let queue: VecDeque<(Event, usize)> = raised.into_iter().map(|e| (e, 1)).collect();
        chain.raised.extend(queue.iter().cloned());
        self.run_events_now(chain, queue)?;
        Ok(hint)
    }

    /// [`Engine::run_events`]' plugin work (on a blocking thread, in the tenant's lane). Each event
    /// has its own [`Session`]: a plugin's store is never kept from one event to the next.
    fn run_events_now(
        &self,
        chain: &mut Chain,
        mut queue: VecDeque<(Event, usize)>,
    ) -> Result<(), EngineError> {
        let cache = chain.cache.clone();
        while let Some((event, depth)) = queue.pop_front() {
            self.metrics.events.inc();
            let kind = event.kind();
            let listening: Vec<&LoadedRule> = cache
                .rules
                .iter()
                .filter(|r| r.spec.listens_to(kind))
                .collect();
            if listening.is_empty() {
                continue;
            }
            if depth >= MAX_CHAIN_DEPTH {
                for rule in listening {
                    let mut record = RunRecord::new(rule, chain.ticket.id, &event, "chain_limit");
                    record.error = Some(format!(
                        "the chain of events reached {MAX_CHAIN_DEPTH} steps; `{kind}` was not processed"
                    ));
                    self.metrics.runs("chain_limit").inc();
                    chain.runs.push(record);
                }
                continue;
            }
            let (raised, _) = self.run_rules(chain, listening, &event, &mut Session::default())?;
            for e in raised {
                chain.raised.push((e.clone(), depth + 1));
                queue.push_back((e, depth + 1));
            }
        }
        Ok(())
    }

    /// Write a chain in the next group commit. `processed`: stored events the chain handled.
    /// `due`: when the scheduler should look at the ticket next, if the chain is the
    /// scheduler's (a changed ticket is always due now). False when the ticket was written
    /// meanwhile (or a new ticket's id was taken): the chain is to be run again.
    pub(super) async fn commit(
        &self,
        chain: &mut Chain,
        processed: &[i64],
        due: Option<Option<i64>>,
    ) -> Result<Option<Written>, EngineError> {
        let mode = if chain.created {
            TicketWrite::Insert
        } else if chain.changed {
            TicketWrite::Update
        } else {
            TicketWrite::Unchanged
        };
        let write = ChainWrite {
            tenant: chain.tenant.id,
            ticket: chain.ticket.clone(),
            mode,
            messages: chain.messages.clone(),
            outbox: chain
                .outbox
                .iter()
                .map(|(rule, o)| (Some(*rule), o.clone()))
                .collect(),
            runs: chain
                .runs
                .iter()
                .map(|r| {
                    let compact = r.compact();
                    RunText {
                        rule_id: r.rule_id,
                        rule_revision: r.rule_revision,
                        event: r.event.kind(),
                        outcome: r.outcome.to_owned(),
                        compact: compact.is_some(),
                        record: compact
                            .unwrap_or_else(|| serde_json::to_string(r).unwrap_or_default()),
                    }
                })
                .collect(),
            events: chain
                .raised
                .iter()
                .map(|(event, depth)| EventText {
                    kind: event.kind(),
                    payload: serde_json::to_string(event).unwrap_or_default(),
                    depth: *depth,
                    processed_at: Some(chain.now),
                })
                .collect(),
            processed: processed.to_vec(),
            time_fires: chain.time_fired.clone(),
            due,
            due_now: chain.cache.rules.iter().any(LoadedRule::is_time_rule),
            now: now_ms(),
            external_id: chain.external_id.clone(),
            imports: chain.imports.clone(),
            hooks: self.store.subscriptions(chain.tenant.id).await?,
            status_category: chain.cache.data.category(&chain.ticket.status).to_owned(),
        };
        let written = match self.store.write_chain(write).await {
            Ok(written) => written,
            Err(WriteError::Conflict) => return Ok(None),
            Err(WriteError::IdTaken) => {
                self.store.reset_ids();
                return Ok(None);
            }
            Err(WriteError::Duplicate {
                ticket_id,
                message_id,
            }) => {
                return Err(EngineError::Duplicate {
                    ticket_id,
                    message_id,
                });
            }
            Err(e) => return Err(EngineError::Store(e.into())),
        };
        chain.ticket.customer_id = written.customer_id;
        chain.ticket.revision = written.revision;
        if chain.changed || chain.created {
            self.wake.notify_one();
        }
        if written.deliveries {
            self.deliveries_wake.notify_one();
        }
        Ok(Some(written))
    }

    /// Process stored events on a ticket (`(id, event)`, raised by one change): every enabled
    /// event rule listening to each event runs in position order; effects may raise further
    /// events (a rule fires at most once per chain; chains stop at [`MAX_CHAIN_DEPTH`]).
    /// Returns the run records.
    pub async fn dispatch(
        &self,
        tenant: &Tenant,
        ticket_id: i64,
        events: Vec<(i64, Event)>,
    ) -> Result<Vec<RunRecord>, EngineError> {
        let ids: Vec<i64> = events.iter().map(|(id, _)| *id).collect();
        for _ in 0..ATTEMPTS {
            let Some((chain, _)) = self.load_chain(tenant, ticket_id, false).await? else {
                // No such ticket (any more): nothing to run, and nothing left to process.
                let mut tx = self.store.begin().await?;
                self.store.mark_events_processed(&mut tx, &ids).await?;
                tx.commit().await?;
                return Ok(Vec::new());
            };
            let queue = events.iter().map(|(_, e)| (e.clone(), 0)).collect();
            let mut chain = self.run_events(chain, queue).await?;
            if self.commit(&mut chain, &ids, None).await?.is_some() {
                // The change that raised the events made the ticket due for its time rules.
                self.wake.notify_one();
                return Ok(chain.runs);
            }
        }
        Err(EngineError::Busy(ticket_id))
    }

    /// The scheduler's look at one ticket: its armed time rules (those that have not fired
    /// since the ticket last changed) run in position order, then the event rules of the events
    /// their effects raise; the ticket's next due time is stored. Returns how many time rules
    /// fired.
    pub async fn run_due(&self, tenant: &Tenant, ticket_id: i64) -> Result<usize, EngineError> {
        for _ in 0..ATTEMPTS {
            let Some((mut chain, fires)) = self.load_chain(tenant, ticket_id, true).await? else {
                return Ok(0);
            };
            let cache = chain.cache.clone();
            let closed = context::category_of(&cache.data.statuses, &chain.ticket.status)
                == ferrule_types::StatusCategory::Closed;
            // Indices (not references) into the cached rules: the chain moves to the lane.
            let armed: Vec<usize> = (0..cache.rules.len())
                .filter(|i| matches!(cache.rules[*i].spec.trigger, Trigger::Time(_)))
                .filter(|i| {
                    fires
                        .get(&cache.rules[*i].id)
                        .is_none_or(|at| chain.ticket.revision > *at)
                })
                .collect();
            // When to look next: nothing armed means nothing to look at until a change.
            let mut due = Some(None);
            if !closed && !armed.is_empty() {
                let (back, settled) = self
                    .plugin_work(tenant.id, move |engine| {
                        let rules = chain.cache.clone();
                        let armed: Vec<&LoadedRule> =
                            armed.iter().map(|i| &rules.rules[*i]).collect();
                        let first = engine.run_time_rules(&mut chain, armed.clone())?;
                        if !chain.changed {
                            return Ok::<_, EngineError>((chain, Some(first)));
                        }
                        // The chain changed the ticket: the time rules that did not fire look
                        // once more at the ticket as it is now, so the next due time is known
                        // without another pass.
                        let rest: Vec<&LoadedRule> = armed
                            .into_iter()
                            .filter(|r| !chain.fired.contains(&r.id))
                            .collect();
                        let before = chain.ticket.clone();
                        let again = engine.run_time_rules(&mut chain, rest)?;
                        // Changed once more: due now, for a fresh look.
                        let settled = (chain.ticket == before).then_some(again);
                        Ok((chain, settled))
                    })
                    .await??;
                chain = back;
                due = settled;
            }
            if self.commit(&mut chain, &[], due).await?.is_some() {
                return Ok(chain.time_fired.len());
            }
        }
        Err(EngineError::Busy(ticket_id))
    }

    /// Evaluate one rule on a ticket and report what would happen, changing nothing.
    pub async fn dry_run(
        &self,
        tenant: &Tenant,
        rule: &LoadedRule,
        ticket_id: i64,
    ) -> Result<Option<Value>, EngineError> {
        let event = match &rule.spec.trigger {
            Trigger::Events(kinds) => match kinds.first().map(String::as_str) {
                Some("customer_message") => Event::CustomerMessage,
                Some("first_customer_message") => Event::FirstCustomerMessage,
                Some("agent_message") => Event::AgentMessage,
                Some("return_created") => Event::ReturnCreated,
                _ => Event::TicketCreated,
            },
            Trigger::Time(_) => Event::ScheduleTick,
        };
        let Some((chain, _)) = self.load_chain(tenant, ticket_id, false).await? else {
            return Ok(None);
        };
        let (ctx, sandbox) = (chain.context(&event), chain.sandbox());
        let installations = chain.cache.installations.clone();
        let rule = rule
            .clone()
            .resolve(&installations)
            .check_directory(&chain.cache.data);
        if let Some(why) = rule.paused() {
            let mut record = RunRecord::new(&rule, ticket_id, &event, "paused");
            record.dry_run = Some(true);
            record.error = Some(why.to_owned());
            return Ok(Some(record.to_json()));
        }
        let record = self
            .plugin_work(tenant.id, move |engine| {
                engine.dry_run_now(&rule, &installations, &ctx, &sandbox, ticket_id, &event)
            })
            .await?;
        Ok(Some(record.to_json()))
    }

    /// [`Engine::dry_run`]'s plugin work.
    fn dry_run_now(
        &self,
        rule: &LoadedRule,
        installations: &super::Installations,
        ctx: &Context,
        sandbox: &Sandbox,
        ticket_id: i64,
        event: &Event,
    ) -> RunRecord {
        let started = Instant::now();
        let mut session = Session::default();
        let eval = self.evaluate_leaves(&[rule], installations, ctx, sandbox, &mut session);
        let mut used = Vec::new();
        let decided = tree::decide(&rule.spec.conditions, &eval.results[0], &mut used);
        let mut record =
            RunRecord::evaluated(rule, ticket_id, event, &eval.results[0], &used, eval.fuel);
        record.dry_run = Some(true);
        record.settle(decided);
        if let Some(at) = eval.hint(0) {
            // When the answer may change with no change to the ticket (time conditions).
            record.changes_at = chrono::DateTime::from_timestamp_millis(at)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        if self
            .effects_of(rule, installations, ctx, sandbox, &mut record, &mut session)
            .is_some()
        {
            record.outcome = "would_fire";
        }
        record.duration_us = Some(started.elapsed().as_micros() as u64);
        record
    }
}
