"""Access policies: documents (model), safe row filters (expr), decisions (engine), the one
place of enforcement (enforce), the stewards' workflow (workflow), GraphQL (graphql)."""
