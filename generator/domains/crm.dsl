# CRM: a B2B sales team's customer relationship manager.
domain crm
about B2B sales CRM: sales reps, accounts, contacts, campaigns, leads, opportunities moving through pipeline stages, products, quotes and quote lines, activities, support cases drawing on prepaid support hours, and contracts
brand Pipeline Pro | Keystone CRM | Relay Sales Cloud | Summit Accounts | Beacon Revenue Desk | Clearwater CRM

table sales_reps sales_rep core rows 4-9 create
  label full_name person
  col email email
  col phone phone opt edit
  col territory enum(northeast,southeast,midwest,west,emea,apac) edit
  col quota money(100000,900000) opt edit
  status status active:6 on_leave:1 departed:1
  action start_leave "put {it} on leave" active -> on_leave
  action return_from_leave "mark {it} as back from leave" on_leave -> active
  action offboard "offboard {it}" active,on_leave -> departed

table accounts account core rows 10-20 create
  label name company
  ref owner_rep_id sales_reps
  col industry enum(software,healthcare,manufacturing,retail,finance,education,logistics)
  col tier enum(smb,mid_market,enterprise) edit
  col support_hours_balance int(0,60) edit
  col annual_revenue money(100000,50000000) opt
  col employee_count int(10,5000) opt edit
  col city city opt edit
  status status prospect:3 customer:5 churned:1
  action convert "mark {it} as a customer" prospect -> customer
  action churn "mark {it} as churned" customer -> churned
  action win_back "win back {it} as a customer" churned -> customer

table contacts contact core rows 14-30 create delete
  label full_name person
  ref account_id accounts
  col email email
  col phone phone opt edit
  col job_title pick(VP of Operations|Head of Procurement|CTO|IT Director|Finance Manager|Chief Marketing Officer|Office Manager|Operations Lead|Purchasing Agent|CFO) edit
  col decision_maker bool opt edit
  status status active:8 left_company:1 do_not_contact:1
  action mark_left "mark {it} as having left the company" active -> left_company
  action opt_out "mark {it} as do-not-contact" active -> do_not_contact

table campaigns campaign rows 3-8 create delete
  label name pick(Spring Webinar Series|Q3 Partner Push|Trade Show Follow-up|Customer Advocacy|Product Launch Blitz|Year-End Renewal Drive|Healthcare Vertical Play|Free Trial Nurture|Executive Roundtable|Win-Back Outreach|Referral Program)
  col budget money(2000,80000) edit
  col channel enum(email,events,paid_search,social,direct_mail,partner)
  col starts_on futuredate(60)
  status status planned:3 running:3 paused:1 completed:2
  action launch "launch {it}" planned -> running
  action pause "pause {it}" running -> paused
  action resume "resume {it}" paused -> running
  action complete "mark {it} as completed" running,paused -> completed

table leads lead core rows 12-26 create
  label full_name person
  col email email
  col company_name company
  col source enum(website,referral,trade_show,cold_call,webinar,partner)
  ref assigned_rep_id sales_reps opt
  ref campaign_id campaigns opt
  col score int(1,100) edit
  status status new:4 contacted:3 qualified:3 disqualified:1 converted:1
  action mark_contacted "mark {it} as contacted" new -> contacted
  action qualify "qualify {it}" new,contacted -> qualified
  action disqualify "disqualify {it}" new,contacted -> disqualified
  action convert "convert {it}" qualified -> converted

table products product rows 5-10 create
  label name pick(Analytics Suite|Cloud Storage 1TB|Security Add-on|Premium Support|API Access Tier|Onboarding Package|Data Connector Pack|Mobile Workforce License|Compliance Module|Training Workshop|Enterprise SSO|Reporting Dashboard|Sandbox Environment)
  col list_price money(500,25000) edit
  col billing enum(monthly,annual,one_time)
  col product_code code(PRD)
  status status active:6 end_of_life:1
  action retire "mark {it} as end of life" active -> end_of_life

table opportunities opportunity core rows 12-26 create
  label name combo(Q1|Q2|Q3|Q4|FY26|Renewal|Expansion|Pilot ; Platform Deal|License Renewal|Seat Expansion|Analytics Rollout|Security Upgrade|Data Migration|Support Upgrade|Regional Rollout)
  ref account_id accounts
  ref sales_rep_id sales_reps
  ref primary_contact_id contacts opt
  col amount money(5000,400000) edit
  col close_date futuredate(180) edit
  col probability int(5,95) opt edit
  col next_step pick(Send pricing|Schedule demo|Security review|Legal review|Executive sponsor call|Procurement sign-off) opt edit
  status status prospecting:4 qualifying:3 proposal_sent:3 negotiating:2 closed_won:3 closed_lost:2
  action qualify "move {it} to the qualification stage" prospecting -> qualifying
  action propose "move {it} to the proposal stage" qualifying -> proposal_sent
  action mark_won "mark {it} as closed won" proposal_sent,negotiating -> closed_won
  action mark_lost "mark {it} as closed lost" prospecting,qualifying,proposal_sent,negotiating -> closed_lost

table quotes quote rows 6-16 create
  label quote_number code(QT)
  ref opportunity_id opportunities
  col total money(2000,300000)
  col discount_percent int(0,30) edit
  col valid_until futuredate(45)
  status status draft:3 sent:4 accepted:3 rejected:1 expired:1
  action send "send {it} to the customer" draft -> sent
  action accept "mark {it} as accepted" sent -> accepted
  action reject "mark {it} as rejected" sent -> rejected

table quote_lines quote_line rows 6-18 create delete
  label line_code code(QL)
  ref quote_id quotes
  ref product_id products
  col seats int(1,200) edit
  col unit_price money(10,5000)

table activities activity core rows 12-28 create delete
  label subject combo(Intro|Follow-up|Discovery|Demo|Pricing|Check-in|Renewal|Kickoff|Onboarding|Quarterly review|Budget|Technical ; call|meeting|email|lunch|webinar|workshop)
  ref sales_rep_id sales_reps
  ref contact_id contacts opt
  ref opportunity_id opportunities opt
  col due_at future(14) edit
  col duration_minutes int(5,90) opt
  status status planned:5 done:5 cancelled:1
  action complete "mark {it} as done" planned -> done
  action cancel "cancel {it}" planned -> cancelled

table support_cases support_case core rows 8-18 create
  label case_number code(CASE)
  ref account_id accounts consumes support_hours_balance by estimated_hours
  ref contact_id contacts opt
  col subject pick(Login failures|Data export stuck|Invoice discrepancy|Integration error|Slow dashboard|Password reset|Feature request|SSO misconfiguration|Missing records|API rate limit)
  col priority enum(low,medium,high,critical) edit
  col estimated_hours int(1,8)
  status status new:3 in_progress:3 waiting_on_customer:2 resolved:4 closed:2
  action start "start work on {it}" new -> in_progress
  action await_customer "mark {it} as waiting on the customer" in_progress -> waiting_on_customer
  action resolve "resolve {it}" new,in_progress,waiting_on_customer -> resolved
  action close "close {it}" resolved -> closed

table contracts contract rows 4-10 create
  label contract_number code(CON)
  ref account_id accounts
  ref opportunity_id opportunities opt
  col contract_value money(10000,500000)
  col start_date pastdate(365)
  col end_date futuredate(730)
  col auto_renew bool opt edit
  status status draft:2 active:5 expired:1 terminated:1
  action activate "activate {it}" draft -> active
  action terminate "terminate {it}" active -> terminated
