"""In-app notifications (the bell), the e-mail outbox delivered by a scheduled job over SMTP, per-user
preferences, and announcements. Other contexts notify through `crm.notify.services.notify`."""
