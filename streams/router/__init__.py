"""The router bounded context: route opportunities, run the offer waterfall and its deadlines."""
