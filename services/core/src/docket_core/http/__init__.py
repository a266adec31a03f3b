"""HTTP pieces shared by the API, the web service and the worker's health port."""
