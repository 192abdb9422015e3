"""Built-in faulty SDKs: the reference SDK with one realistic identity bug each."""
