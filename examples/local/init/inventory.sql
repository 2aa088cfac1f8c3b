-- Seed data for the local example. Runs once, as the `postgres` superuser,
-- in the `inventory` database (POSTGRES_DB), when the container starts with
-- an empty data directory. To run it again: `docker compose down -v`.

CREATE TABLE customers (
  id          serial PRIMARY KEY,
  first_name  text        NOT NULL,
  last_name   text        NOT NULL,
  email       text        NOT NULL UNIQUE,
  notes       text,                         -- internal; building-blocks leaves it out of its publication
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id          serial PRIMARY KEY,
  name        text          NOT NULL,
  description text,
  weight_kg   numeric(8, 3) NOT NULL,
  price       numeric(10, 2) NOT NULL
);

CREATE TABLE orders (
  id          serial PRIMARY KEY,
  customer_id integer     NOT NULL REFERENCES customers (id),
  product_id  integer     NOT NULL REFERENCES products (id),
  quantity    integer     NOT NULL CHECK (quantity > 0),
  status      text        NOT NULL DEFAULT 'placed',   -- draft, placed, shipped, cancelled
  ordered_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO customers (first_name, last_name, email, notes) VALUES
  ('Sally',  'Thomas',    'sally.thomas@example.com', NULL),
  ('George', 'Bailey',    'gbailey@example.com',      'prefers phone calls'),
  ('Edward', 'Walker',    'ed@example.com',           NULL),
  ('Anne',   'Kretchmar', 'annek@example.com',        'VIP');

INSERT INTO products (name, description, weight_kg, price) VALUES
  ('scooter',            'Small 2-wheel scooter',       3.140, 89.00),
  ('car battery',        '12V car battery',             8.100, 129.50),
  ('12-pack drill bits', '12-pack of drill bits',       0.800, 14.99),
  ('hammer',             '12oz carpenter''s hammer',    0.750, 19.90),
  ('rocks',              'box of assorted rocks',       5.300, 4.20);

INSERT INTO orders (customer_id, product_id, quantity, status) VALUES
  (1, 1, 1, 'shipped'),
  (2, 3, 2, 'placed'),
  (3, 4, 1, 'draft'),
  (4, 2, 1, 'placed');

-- The role the Kafka Connect workers log in with. It owns nothing and has no
-- privileges yet: the pipeline's ReplicationGrant gives it REPLICATION and
-- SELECT on exactly the captured tables, and revokes them on `pulumi destroy`.
-- The password is the local development password that README.md tells you to
-- put into the stack config as a secret.
CREATE ROLE debezium WITH LOGIN PASSWORD 'debezium';
