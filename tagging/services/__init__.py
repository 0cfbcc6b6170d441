"""Services: the product's behaviour (upload, tag, query), free of HTTP and SDK types."""
