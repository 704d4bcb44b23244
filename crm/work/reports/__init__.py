"""Work reports: daily, weekly and monthly reports pre-filled with the period's figures, sent to the
supervisor and chosen colleagues, with read receipts, comments and a reminder to file them."""
