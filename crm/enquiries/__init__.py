"""Enquiry statistics: per store (platform) per day enquiries and new enquiries; per salesperson per day
WeChat adds, contacts and screenshots; the four enquiry rates of DESIGN §10 and their reminders."""
