"""The mapped target: the dataset into an application's own tables, made by its migrations.

``plan`` decides every column against the catalog; ``transform`` shapes each batch;
``loader`` runs the load; ``restore`` puts the application's keys and indexes back.
"""
