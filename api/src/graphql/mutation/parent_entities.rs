use async_graphql::{Context, Object, Result};

use crate::{
    graphql::{
        connection::parse_id,
        context::Ctx,
        types::{
            GrantParentEntityRoleInput, ParentEntity, ParentEntityRole, RegisterParentEntityInput,
            RevokeParentEntityRoleInput,
        },
    },
    services::parent_entities::{self, RegisterInput, RoleInput},
};

#[derive(Default)]
pub struct ParentEntityMutation;

#[Object]
impl ParentEntityMutation {
    /// Registers a parent entity; you become its first steward.
    async fn register_parent_entity(
        &self,
        ctx: &Context<'_>,
        input: RegisterParentEntityInput,
    ) -> Result<ParentEntity> {
        let c = Ctx::of(ctx)?;
        let input = RegisterInput {
            name: input.name,
            jurisdiction: input.jurisdiction,
            legal_form: input.legal_form,
            registration_number: input.registration_number,
            approval_policy: input.approval_policy.into(),
        };
        Ok(ParentEntity(
            parent_entities::register(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Gives an existing account a role at the parent entity. Stewards only.
    async fn grant_parent_entity_role(
        &self,
        ctx: &Context<'_>,
        input: GrantParentEntityRoleInput,
    ) -> Result<ParentEntityRole> {
        let c = Ctx::of(ctx)?;
        let input = RoleInput {
            parent_entity_id: parse_id(&input.parent_entity_id, "input.parentEntityId")?,
            email: input.email,
            role: input.role.into(),
        };
        Ok(ParentEntityRole(
            parent_entities::grant_role(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Ends a role. Stewards only; the last steward cannot be removed.
    async fn revoke_parent_entity_role(
        &self,
        ctx: &Context<'_>,
        input: RevokeParentEntityRoleInput,
    ) -> Result<ParentEntityRole> {
        let c = Ctx::of(ctx)?;
        let input = RoleInput {
            parent_entity_id: parse_id(&input.parent_entity_id, "input.parentEntityId")?,
            email: input.email,
            role: input.role.into(),
        };
        Ok(ParentEntityRole(
            parent_entities::revoke_role(c.state, c.actor().await?, input).await?,
        ))
    }
}
