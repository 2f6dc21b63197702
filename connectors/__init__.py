"""The connector SDK and one connector per source system (built in Step 3).

A connector is a system descriptor, a reusable transport and a mapping of the source's
records into ``schema.record.Record``s with provenance.
"""
