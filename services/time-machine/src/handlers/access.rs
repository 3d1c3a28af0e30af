//! Finding a chat for a caller: absent, another tenant's (row level security hides it) and
//! another user's are all the same 404, so nothing leaks.

use radiant_bus::ServiceError;
use radiant_db::sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::{TmResult, chat_not_found};
use crate::machine::Caller;
use crate::store::chats::{self, ChatRow};

pub async fn readable_chat<C: ConnectionTrait>(
    connection: &C,
    caller: &Caller,
    chat_id: Uuid,
) -> TmResult<ChatRow> {
    let chat = chats::get(connection, chat_id)
        .await?
        .ok_or_else(chat_not_found)?;
    if !caller.may_access(&chat.user_id) {
        return Err(chat_not_found());
    }
    Ok(chat)
}

/// The chat locked for a change (see `store::chats::lock`); a deleted chat takes no changes.
pub async fn writable_chat<C: ConnectionTrait>(
    connection: &C,
    caller: &Caller,
    chat_id: Uuid,
) -> TmResult<ChatRow> {
    let chat = chats::lock(connection, chat_id)
        .await?
        .ok_or_else(chat_not_found)?;
    if !caller.may_access(&chat.user_id) {
        return Err(chat_not_found());
    }
    if chat.is_deleted {
        return Err(ServiceError::conflict("the chat is deleted; restore it first").into());
    }
    Ok(chat)
}
