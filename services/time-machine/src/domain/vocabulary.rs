//! The words the time machine stores and answers with: roles, triggers, scopes, sources and
//! export formats. The database checks the same lists.

use radiant_bus::ServiceError;

pub const ROLES: [&str; 3] = ["user", "assistant", "system"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    MessageSent,
    MessageReceived,
    MessageEdited,
    MessageDeleted,
    FileUploaded,
    FileGenerated,
    FileDeleted,
    ChatRenamed,
    RestorePerformed,
    ManualSnapshot,
}

impl Trigger {
    pub const ALL: [Trigger; 10] = [
        Trigger::MessageSent,
        Trigger::MessageReceived,
        Trigger::MessageEdited,
        Trigger::MessageDeleted,
        Trigger::FileUploaded,
        Trigger::FileGenerated,
        Trigger::FileDeleted,
        Trigger::ChatRenamed,
        Trigger::RestorePerformed,
        Trigger::ManualSnapshot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::MessageSent => "message_sent",
            Trigger::MessageReceived => "message_received",
            Trigger::MessageEdited => "message_edited",
            Trigger::MessageDeleted => "message_deleted",
            Trigger::FileUploaded => "file_uploaded",
            Trigger::FileGenerated => "file_generated",
            Trigger::FileDeleted => "file_deleted",
            Trigger::ChatRenamed => "chat_renamed",
            Trigger::RestorePerformed => "restore_performed",
            Trigger::ManualSnapshot => "manual_snapshot",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|trigger| trigger.as_str() == text)
    }

    /// The event a snapshot of this trigger is announced as (`<prefix>.events.chat.<event>`).
    pub fn event_name(self) -> &'static str {
        use radiant_bus::subjects::tm;
        match self {
            Trigger::MessageSent | Trigger::MessageReceived => tm::EVENT_MESSAGE_SAVED,
            Trigger::MessageEdited => tm::EVENT_MESSAGE_EDITED,
            Trigger::MessageDeleted => tm::EVENT_MESSAGE_DELETED,
            Trigger::FileUploaded | Trigger::FileGenerated => tm::EVENT_FILE_SAVED,
            Trigger::FileDeleted => tm::EVENT_FILE_DELETED,
            Trigger::ChatRenamed => tm::EVENT_RENAMED,
            Trigger::RestorePerformed => tm::EVENT_RESTORE_PERFORMED,
            Trigger::ManualSnapshot => tm::EVENT_SNAPSHOT_CREATED,
        }
    }

    /// What happened, for people ("message sent", "file uploaded").
    pub fn describe(self) -> &'static str {
        match self {
            Trigger::MessageSent => "message sent",
            Trigger::MessageReceived => "answer received",
            Trigger::MessageEdited => "message edited",
            Trigger::MessageDeleted => "message deleted",
            Trigger::FileUploaded => "file uploaded",
            Trigger::FileGenerated => "file generated",
            Trigger::FileDeleted => "file deleted",
            Trigger::ChatRenamed => "chat renamed",
            Trigger::RestorePerformed => "restore performed",
            Trigger::ManualSnapshot => "snapshot saved",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreScope {
    FullChat,
    SingleMessage,
    SingleFile,
    MessageRange,
    FilesOnly,
}

impl RestoreScope {
    pub fn parse(text: &str) -> Result<Self, ServiceError> {
        match text.trim() {
            "" | "full_chat" => Ok(RestoreScope::FullChat),
            "single_message" => Ok(RestoreScope::SingleMessage),
            "single_file" => Ok(RestoreScope::SingleFile),
            "message_range" => Ok(RestoreScope::MessageRange),
            "files_only" => Ok(RestoreScope::FilesOnly),
            _ => Err(ServiceError::invalid_field(
                "scope",
                "must be full_chat, single_message, single_file, message_range or files_only",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RestoreScope::FullChat => "full_chat",
            RestoreScope::SingleMessage => "single_message",
            RestoreScope::SingleFile => "single_file",
            RestoreScope::MessageRange => "message_range",
            RestoreScope::FilesOnly => "files_only",
        }
    }

    pub fn touches_messages(self) -> bool {
        matches!(
            self,
            RestoreScope::FullChat | RestoreScope::SingleMessage | RestoreScope::MessageRange
        )
    }

    pub fn touches_files(self) -> bool {
        matches!(
            self,
            RestoreScope::FullChat | RestoreScope::SingleFile | RestoreScope::FilesOnly
        )
    }
}

pub fn parse_role(role: &str) -> Result<&'static str, ServiceError> {
    ROLES
        .into_iter()
        .find(|candidate| *candidate == role.trim())
        .ok_or_else(|| ServiceError::invalid_field("role", "must be user, assistant or system"))
}

pub fn parse_file_source(source: &str) -> Result<&'static str, ServiceError> {
    match source.trim() {
        "" | "user_upload" => Ok("user_upload"),
        "ai_generated" => Ok("ai_generated"),
        "system" => Ok("system"),
        _ => Err(ServiceError::invalid_field(
            "source",
            "must be user_upload, ai_generated or system",
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Markdown,
    Html,
    Pdf,
    Zip,
}

impl ExportFormat {
    pub fn parse(text: &str) -> Result<Self, ServiceError> {
        match text.trim() {
            "json" => Ok(ExportFormat::Json),
            "markdown" | "md" => Ok(ExportFormat::Markdown),
            "html" => Ok(ExportFormat::Html),
            "pdf" => Ok(ExportFormat::Pdf),
            "" | "zip" => Ok(ExportFormat::Zip),
            _ => Err(ServiceError::invalid_field(
                "format",
                "must be json, markdown, html, pdf or zip",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Markdown => "markdown",
            ExportFormat::Html => "html",
            ExportFormat::Pdf => "pdf",
            ExportFormat::Zip => "zip",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigger_round_trips_and_has_an_event() {
        for trigger in Trigger::ALL {
            assert_eq!(Trigger::parse(trigger.as_str()), Some(trigger));
            assert!(!trigger.event_name().is_empty());
        }
        assert_eq!(Trigger::parse("nope"), None);
    }

    #[test]
    fn scopes_and_formats_refuse_unknown_words_naming_the_field() {
        assert_eq!(RestoreScope::parse("").unwrap(), RestoreScope::FullChat);
        let error = RestoreScope::parse("everything").unwrap_err();
        assert_eq!(error.field_violations[0].0, "scope");
        assert_eq!(ExportFormat::parse("md").unwrap(), ExportFormat::Markdown);
        assert_eq!(
            ExportFormat::parse("docx").unwrap_err().field_violations[0].0,
            "format"
        );
        assert_eq!(parse_role(" assistant ").unwrap(), "assistant");
        assert!(parse_role("robot").is_err());
    }
}
