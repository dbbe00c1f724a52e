"""CRM inbound: HubSpot and Salesforce webhooks become oppbus opportunities (signed, mapped)."""
