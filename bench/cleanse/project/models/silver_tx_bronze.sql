select * from {{ source('bronze', 'transactions') }}
