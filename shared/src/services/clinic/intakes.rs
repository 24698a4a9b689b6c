//! Intakes: created for a patient of the franchise (the patient's own
//! token, or the API key naming the patient), read and changed only
//! within that reach.

use super::Actor;
use crate::app::App;
use crate::domain::clinic::{Concern, Intake, RoomCode, VisitType};
use crate::domain::{IntakeId, Metadata, PatientId, Phone, UserId};
use crate::error::{Error, Result};
use crate::services::people;
use crate::services::retry::conflict;
use crate::store::clinic_items::intake_item;
use crate::store::{Write, items, keys};

pub const INTAKE_NOT_FOUND: &str = "Intake not found";

#[derive(Debug, Clone)]
pub struct NewIntake {
    pub patient_id: PatientId,
    pub reason_for_visit: String,
    pub visit_type: VisitType,
    pub room_code: RoomCode,
    pub provider_id: Option<UserId>,
    pub phone: Option<Phone>,
    pub location: Option<String>,
    pub concerns: Vec<Concern>,
    pub custom: Option<Metadata>,
}

/// What a change of an intake gives (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct IntakeChange {
    pub reason_for_visit: Option<String>,
    pub provider_id: Option<UserId>,
    pub phone: Option<Phone>,
    pub location: Option<String>,
    pub concerns: Option<Vec<Concern>>,
    pub custom: Option<Metadata>,
}

/// The patient an actor acts for: its own, or the one the API key names.
pub fn patient_for(actor: &Actor, named: Option<PatientId>) -> Result<PatientId> {
    match (actor, named) {
        (Actor::Patient { patient_id, .. }, None) => Ok(patient_id.clone()),
        (Actor::Patient { patient_id, .. }, Some(p)) if &p == patient_id => Ok(p),
        (Actor::Patient { .. }, Some(_)) => Err(Error::not_found("Patient not found")),
        (Actor::Vendor { .. }, Some(p)) => Ok(p),
        (Actor::Vendor { .. }, None) => {
            Err(Error::invalid("patientId is required with the API key"))
        }
        _ => Err(Error::forbidden(
            "Only the patient or the vendor creates intakes",
        )),
    }
}

pub async fn create_intake(app: &App, actor: &Actor, new: NewIntake) -> Result<Intake> {
    let tenant = actor.tenant();
    people::patient(app, tenant, &new.patient_id).await?;
    let room = super::rooms::room(app, tenant, &new.room_code).await?;
    if !room.takes(new.visit_type) {
        return Err(Error::conflict(format!(
            "This room takes no {} visits",
            new.visit_type.as_str()
        )));
    }
    let now = app.now_ms();
    let intake = Intake {
        tenant_key: tenant.clone(),
        intake_id: IntakeId::generate(),
        patient_id: new.patient_id,
        reason_for_visit: new.reason_for_visit,
        visit_type: new.visit_type,
        room_code: new.room_code,
        provider_id: new.provider_id,
        phone: new.phone,
        location: new.location,
        concerns: new.concerns,
        custom: new.custom,
        health: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    app.store
        .write(items::put_new(intake_item(&intake)?))
        .await?;
    Ok(intake)
}

/// An intake within the actor's reach (another patient's is not found).
pub async fn intake(app: &App, actor: &Actor, id: &IntakeId) -> Result<Intake> {
    let i: Intake =
        crate::services::get(app, &keys::intake_key(actor.tenant(), id), INTAKE_NOT_FOUND).await?;
    match actor {
        Actor::Patient { patient_id, .. } if *patient_id != i.patient_id => {
            Err(Error::not_found(INTAKE_NOT_FOUND))
        }
        Actor::Guest { .. } => Err(Error::not_found(INTAKE_NOT_FOUND)),
        _ => Ok(i),
    }
}

pub async fn update_intake(
    app: &App,
    actor: &Actor,
    id: &IntakeId,
    change: IntakeChange,
) -> Result<Intake> {
    let mut i = intake(app, actor, id).await?;
    let expected = i.version;
    if let Some(v) = change.reason_for_visit {
        i.reason_for_visit = v;
    }
    if change.provider_id.is_some() {
        i.provider_id = change.provider_id;
    }
    if change.phone.is_some() {
        i.phone = change.phone;
    }
    if change.location.is_some() {
        i.location = change.location;
    }
    if let Some(c) = change.concerns {
        i.concerns = c;
    }
    if change.custom.is_some() {
        i.custom = change.custom;
    }
    i.version += 1;
    i.updated_at = app.now_ms();
    let write = Write::Put {
        item: intake_item(&i)?,
        cond: Some(items::at_version(expected)),
    };
    conflict(
        app.store.write(write).await.map_err(Into::into),
        "The intake changed meanwhile; reload it and try again",
    )?;
    Ok(i)
}
