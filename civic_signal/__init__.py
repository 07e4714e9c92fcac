"""Civic Signal: resident reports of city problems from public social media, turned into 311 tickets.

Layers, bottom to top (a module imports only from its own layer or the ones below):

``core``         frozen types and the source / sink / classifier / bus contracts
``config``       typed settings, errors, taxonomy and catalogue data
``classifiers``  the spaCy pipeline, location, training and evaluation
``sinks``        archive, incidents, Open311, console, reports
``listener``     sources, buses, pipeline wiring, scheduler jobs and the command line
"""
