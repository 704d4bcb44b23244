"""Receivable plans: the instalments an order's money is expected in, their status after the verified
collections, and the reminders before and after their due dates."""
