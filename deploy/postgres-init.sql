-- Temporal keeps its own databases beside the plantops one.
CREATE DATABASE temporal OWNER plantops;
CREATE DATABASE temporal_visibility OWNER plantops;
