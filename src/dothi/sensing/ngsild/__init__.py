"""The NGSI-LD API subset (ETSI GS CIM 009) with FIWARE Smart Data Models: an edge adapter over the
sensing module's registry, ingestion service and reads. See docs/modules/sensing.md."""
