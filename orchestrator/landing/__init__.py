"""The landing, as one area: the contract of the extracts (`contract`), the stores that hold them (a directory
or an S3 folder) and the gate that checks a window's deliveries before any model reads them (`gate`, with
`parquet_footer`, a footer's row count read without a Parquet library), the catch-up rule (`catch_up`) and the
load dates the local landing holds (`date_range`). It imports only the foundation, and it ships in the image."""
